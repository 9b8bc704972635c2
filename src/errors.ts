/**
 * Typed errors shared by every layer. Each carries a stable `code` that the GraphQL layer copies into
 * `extensions.code`, and a message a user can act on (what was wrong, and what to do about it).
 */

/** Codes as they appear in GraphQL `extensions.code`. */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "GPU_UNAVAILABLE"
  | "GPU_OUT_OF_MEMORY"
  | "GPU_DEVICE_LOST"
  | "GPU_VALIDATION"
  | "CANCELLED"
  | "INTERNAL";

/** Base class of every error gradsift raises on purpose. */
export class GradsiftError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** What a GraphQLError wrapping this one takes as its `extensions` (graphql-js and graphql-jit alike). */
  get extensions(): { code: ErrorCode } {
    return { code: this.code };
  }
}

/** The caller passed something malformed: a shape, a budget, a file. */
export class InvalidInputError extends GradsiftError {
  constructor(message: string, options?: ErrorOptions) {
    super("BAD_USER_INPUT", message, options);
  }
}

/** Tensor or matrix shapes that do not fit together. */
export class ShapeError extends InvalidInputError {}

/** Work stopped because its AbortSignal fired. */
export class CancelledError extends GradsiftError {
  constructor(message = "cancelled", options?: ErrorOptions) {
    super("CANCELLED", message, options);
  }
}

/** Throws `CancelledError` if the signal has fired. Call between GPU submissions. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "");
    throw new CancelledError(reason ? `cancelled: ${reason}` : "cancelled");
  }
}
