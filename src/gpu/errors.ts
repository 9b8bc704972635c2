/** GPU failures as typed errors: no adapter, validation, out-of-memory, device loss. */
import { GradsiftError } from "../errors.ts";

/** No WebGPU adapter could be found; the message names the fix. */
export class GpuUnavailableError extends GradsiftError {
  constructor(message: string, options?: ErrorOptions) {
    super("GPU_UNAVAILABLE", message, options);
  }
}

/** The GPU rejected a command (a bug in gradsift, or a limit the input exceeded). */
export class GpuValidationError extends GradsiftError {
  constructor(message: string, options?: ErrorOptions) {
    super("GPU_VALIDATION", message, options);
  }
}

/** An allocation failed or would exceed the device's limits. */
export class GpuOutOfMemoryError extends GradsiftError {
  constructor(message: string, options?: ErrorOptions) {
    super("GPU_OUT_OF_MEMORY", message, options);
  }
}

/** The device was lost (driver reset, destroy()); nothing on it can be used again. */
export class GpuDeviceLostError extends GradsiftError {
  constructor(message: string, options?: ErrorOptions) {
    super("GPU_DEVICE_LOST", message, options);
  }
}
