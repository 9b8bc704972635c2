/**
 * Typed errors of the data layer. Every message names the file or dataset and the problem (with the
 * first offending index where there is one), so a user can find and fix the input.
 */
import { GradsiftError, InvalidInputError } from "../errors.ts";

/** A file that cannot be decoded: bad magic, truncated, unsupported dtype, corrupt data. */
export class MalformedFileError extends InvalidInputError {
  /** The file (or a caller-supplied name for an in-memory buffer). */
  readonly path: string;
  /** What is wrong, without the path. */
  readonly problem: string;
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`${path}: ${problem}`, options);
    this.path = path;
    this.problem = problem;
  }
}

/** A data file that does not exist (a typo in a path, a missing Debian package). */
export class DataFileNotFoundError extends InvalidInputError {
  readonly path: string;
  /** `hint` says what to do about it (which package to install, which option to pass). */
  constructor(path: string, options?: ErrorOptions & { hint?: string }) {
    super(`${path}: file not found${options?.hint ? `; ${options.hint}` : ""}`, options);
    this.path = path;
  }
}

/** A stored file whose bytes no longer match the checksum recorded when it was written. */
export class ChecksumMismatchError extends MalformedFileError {}

/**
 * Dataset parts that do not fit together or hold invalid values: features vs labels vs input shape,
 * NaN/Inf features, labels ≥ numClasses, a bad name or option.
 */
export class DatasetMismatchError extends InvalidInputError {
  /** The dataset (and split, e.g. "blobs/train") the problem was found in. */
  readonly dataset: string;
  readonly problem: string;
  constructor(dataset: string, problem: string, options?: ErrorOptions) {
    super(`dataset ${dataset}: ${problem}`, options);
    this.dataset = dataset;
    this.problem = problem;
  }
}

/** No dataset of that name in the store. Maps to `NOT_FOUND`, not `BAD_USER_INPUT`. */
export class DatasetNotFoundError extends GradsiftError {
  readonly dataset: string;
  constructor(dataset: string, root: string, options?: ErrorOptions) {
    super("NOT_FOUND", `dataset ${dataset}: not found in ${root}`, options);
    this.dataset = dataset;
  }
}

/** A dataset of that name already exists and `overwrite` was not asked for. Maps to `CONFLICT`. */
export class DatasetExistsError extends GradsiftError {
  readonly dataset: string;
  constructor(dataset: string, root: string, options?: ErrorOptions) {
    super(
      "CONFLICT",
      `dataset ${dataset}: already exists in ${root}; delete it or pass { overwrite: true }`,
      options,
    );
    this.dataset = dataset;
  }
}
