/**
 * Checks a dataset before anything is written: names, shapes, dtypes and values. Every failure is a
 * `DatasetMismatchError` naming the dataset and split and, for values, the first offending index.
 */
import { DatasetMismatchError } from "./errors.ts";

/** One split of a dataset: n samples of prod(inputShape) features each. */
export interface Split {
  /** (n, ...inputShape) f32, C order. */
  features: Float32Array;
  /** (n) u32, each < numClasses. */
  labels: Uint32Array;
}

/** What `DatasetStore.put` stores. */
export interface DatasetInput {
  train: Split;
  test?: Split;
  /** Shape of one sample, e.g. [1, 28, 28] or [d]. */
  inputShape: number[];
  numClasses: number;
  /** One name per class, if the classes have names. */
  classNames?: string[];
  /** Where the data came from, e.g. "fashion-mnist:/usr/share/datasets/fashion-mnist". */
  source: string;
}

/** Dataset names: a letter or digit, then letters, digits, '.', '_', '-'; at most 128 characters. */
export const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `name` can be a directory name in the store (no separators, no leading dot). */
export function checkDatasetName(name: string): void {
  if (typeof name !== "string" || !DATASET_NAME.test(name)) {
    throw new DatasetMismatchError(
      JSON.stringify(name),
      "invalid name: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
}

/**
 * Largest numClasses accepted: class counts live in meta.json (and the database) as one number per
 * class, and no coreset problem has anywhere near a million classes.
 */
export const MAX_CLASSES = 2 ** 20;

/** Per-class counts of each split, computed while validating. */
export interface SplitCounts {
  train: number[];
  test: number[] | null;
}

/** Validates a whole dataset; returns its class counts. Throws `DatasetMismatchError` on any problem. */
export function validateDataset(name: string, input: DatasetInput): SplitCounts {
  checkDatasetName(name);
  const fail = (problem: string) => new DatasetMismatchError(name, problem);
  const { inputShape, numClasses, classNames, source } = input;
  if (!Array.isArray(inputShape) || inputShape.length === 0) {
    throw fail("inputShape must be a non-empty array");
  }
  if (!inputShape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw fail(`inputShape [${inputShape.join(", ")}] must hold positive integers`);
  }
  if (!Number.isSafeInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) {
    throw fail(`numClasses must be an integer in [1, ${MAX_CLASSES}], got ${numClasses}`);
  }
  if (classNames !== undefined) {
    if (!Array.isArray(classNames) || classNames.length !== numClasses) {
      throw fail(`classNames has ${classNames?.length} entries, numClasses is ${numClasses}`);
    }
    if (!classNames.every((c) => typeof c === "string")) throw fail("classNames must be strings");
  }
  if (typeof source !== "string") throw fail("source must be a string");
  if (!input.train) throw fail("a train split is required");
  const train = validateSplit(`${name}/train`, input.train, inputShape, numClasses);
  if (input.train.labels.length === 0) throw fail("the train split is empty");
  const test = input.test ? validateSplit(`${name}/test`, input.test, inputShape, numClasses) : null;
  return { train, test };
}

/**
 * Validates one split: array types, features.length = n·prod(inputShape) for n labels, every feature
 * finite, every label < numClasses. Returns the class counts.
 */
export function validateSplit(
  where: string,
  split: Split,
  inputShape: readonly number[],
  numClasses: number,
): number[] {
  const fail = (problem: string) => new DatasetMismatchError(where, problem);
  const { features, labels } = split;
  if (!(features instanceof Float32Array)) {
    throw fail(`features must be a Float32Array, got ${typeName(features)}; convert with Float32Array.from`);
  }
  if (!(labels instanceof Uint32Array)) {
    throw fail(`labels must be a Uint32Array, got ${typeName(labels)}; convert with Uint32Array.from`);
  }
  const per = inputShape.reduce((a, b) => a * b, 1);
  const n = labels.length;
  if (features.length !== n * per) {
    throw fail(
      `shape mismatch: ${n} labels need ${n} × ${per} = ${n * per} feature values ` +
        `(inputShape [${inputShape.join(", ")}]), got ${features.length} (${features.length / per} samples)`,
    );
  }
  for (let i = 0; i < features.length; i++) {
    const v = features[i];
    // v − v is 0 for every finite v and NaN for NaN and ±Inf: one test for both.
    if (v - v !== 0) {
      throw fail(
        `features[${i}] (sample ${Math.floor(i / per)}, element ${i % per}) is ${v}; features must be finite`,
      );
    }
  }
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y >= numClasses) throw fail(`labels[${i}] is ${y}; labels must be < numClasses = ${numClasses}`);
    counts[y]++;
  }
  return counts;
}

function typeName(x: unknown): string {
  return x === null || x === undefined ? String(x) : (x as object).constructor?.name ?? typeof x;
}
