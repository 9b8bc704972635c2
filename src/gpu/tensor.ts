/**
 * A small GPU tensor: a shape, an element type and a pooled buffer. Row-major, contiguous. Disposal is
 * explicit (`dispose()` returns the buffer to the pool); reading back is explicit and async.
 */
import type { Gpu } from "./device.ts";
import { ShapeError } from "../errors.ts";

/** Element types kernels use: f32 data, u32 labels and indices, i32 for signed indices. */
export type DType = "f32" | "u32" | "i32";

/** Typed array per element type. */
export type ArrayOf<D extends DType> = D extends "f32" ? Float32Array<ArrayBuffer>
  : D extends "u32" ? Uint32Array<ArrayBuffer>
  : Int32Array<ArrayBuffer>;

/** Any array a tensor can be read into. */
export type AnyArray = Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Int32Array<ArrayBuffer>;

/** Input arrays per element type (any backing buffer). */
export type InputOf<D extends DType> = D extends "f32" ? Float32Array
  : D extends "u32" ? Uint32Array
  : Int32Array;

/** Every tensor can be a storage binding, a copy source or target, and indirect dispatch arguments. */
const TENSOR_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST |
  GPUBufferUsage.INDIRECT;

/** Elements in a shape; validates that every dimension is a non-negative integer. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

/** A contiguous GPU tensor. */
export class Tensor<D extends DType = "f32"> {
  readonly gpu: Gpu;
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly size: number;
  readonly label: string;
  #buffer: GPUBuffer | null;
  /** False for views (`reshape`): disposing a view leaves the buffer to its owner. */
  #owned: boolean;

  /** Allocates from the pool, or wraps `buffer` (then not owned: `dispose()` will not release it). */
  constructor(gpu: Gpu, shape: readonly number[], dtype: D, label = "tensor", buffer?: GPUBuffer) {
    this.gpu = gpu;
    this.shape = [...shape];
    this.dtype = dtype;
    this.size = numel(shape);
    this.label = label;
    if (buffer && buffer.size < this.size * 4) {
      throw new ShapeError(`${label}: buffer of ${buffer.size} bytes is too small for shape [${shape}]`);
    }
    this.#owned = !buffer;
    this.#buffer = buffer ?? gpu.pool.acquire(this.size * 4, TENSOR_USAGE, label);
  }

  /** The backing buffer (may be larger than `byteLength`); throws after `dispose()`. */
  get buffer(): GPUBuffer {
    if (!this.#buffer) throw new Error(`tensor "${this.label}" used after dispose()`);
    return this.#buffer;
  }

  /** Bytes of data (the buffer may be larger). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** Rows of a 2-D tensor (a 1-D tensor is one row). */
  get rows(): number {
    return this.shape.length >= 2 ? this.shape[0] : 1;
  }

  /** Columns of a 2-D tensor (product of trailing dimensions). */
  get cols(): number {
    return this.shape.length >= 2 ? this.shape.slice(1).reduce((a, b) => a * b, 1) : this.size;
  }

  get disposed(): boolean {
    return this.#buffer === null;
  }

  /** Returns the buffer to the pool (views only forget it). Idempotent. */
  dispose(): void {
    if (this.#buffer && this.#owned) this.gpu.pool.release(this.#buffer);
    this.#buffer = null;
  }

  /** Writes `data` (exactly `size` elements) into the tensor. */
  write(data: InputOf<D>): this {
    if (data.length !== this.size) {
      throw new ShapeError(`${this.label}: write of ${data.length} elements into shape [${this.shape}]`);
    }
    if (this.size > 0) this.gpu.device.queue.writeBuffer(this.buffer, 0, data as unknown as BufferSource);
    return this;
  }

  /** Copies the tensor to the CPU. */
  async read(): Promise<ArrayOf<D>> {
    return await readBuffer(this.gpu, this.buffer, this.byteLength, this.dtype) as ArrayOf<D>;
  }

  /**
   * Reads the tensor and hands `use` a view of the mapped bytes, valid only during the call — for
   * callers that copy the data on into their own arrays (a large read-back without `read`'s copy into a
   * fresh array: on lavapipe that copy, page faults included, ran at ~1.3 GB/s).
   */
  async readWith<T>(use: (view: ArrayOf<D>) => T): Promise<T> {
    return await mapRead(
      this.gpu,
      this.buffer,
      this.byteLength,
      (b) => use(makeArray(this.dtype, b) as ArrayOf<D>),
    );
  }

  /** A view with another shape of equal size, sharing the buffer; the owner stays responsible for it. */
  reshape(shape: readonly number[]): Tensor<D> {
    if (numel(shape) !== this.size) throw new ShapeError(`cannot reshape [${this.shape}] to [${shape}]`);
    return new Tensor(this.gpu, shape, this.dtype, this.label, this.buffer);
  }
}

/** Allocates a tensor and fills it from `data` (shape defaults to `[data.length]`). */
export function tensor(gpu: Gpu, data: Uint32Array, shape?: readonly number[], label?: string): Tensor<"u32">;
export function tensor(gpu: Gpu, data: Int32Array, shape?: readonly number[], label?: string): Tensor<"i32">;
export function tensor(
  gpu: Gpu,
  data: Float32Array,
  shape?: readonly number[],
  label?: string,
): Tensor<"f32">;
export function tensor(
  gpu: Gpu,
  data: Float32Array | Uint32Array | Int32Array,
  shape?: readonly number[],
  label = "tensor",
): Tensor<DType> {
  const dtype: DType = data instanceof Float32Array ? "f32" : data instanceof Uint32Array ? "u32" : "i32";
  return new Tensor<DType>(gpu, shape ?? [data.length], dtype, label).write(data as never);
}

/** An uninitialised tensor (contents are whatever the pooled buffer held). */
export function empty<D extends DType = "f32">(
  gpu: Gpu,
  shape: readonly number[],
  dtype: D = "f32" as D,
  label = "tensor",
): Tensor<D> {
  return new Tensor(gpu, shape, dtype, label);
}

/** Reads `bytes` bytes of a buffer into a typed array of `dtype`. */
export async function readBuffer(
  gpu: Gpu,
  buffer: GPUBuffer,
  bytes: number,
  dtype: DType,
): Promise<AnyArray> {
  return await mapRead(gpu, buffer, bytes, (b) => makeArray(dtype, b.slice(0)));
}

/** Copies `bytes` bytes of a buffer to a staging buffer, maps it and calls `use` on the mapped bytes. */
async function mapRead<T>(
  gpu: Gpu,
  buffer: GPUBuffer,
  bytes: number,
  use: (b: ArrayBuffer) => T,
): Promise<T> {
  gpu.assertAlive();
  if (bytes === 0) return use(new ArrayBuffer(0));
  const padded = Math.ceil(bytes / 4) * 4;
  const staging = gpu.pool.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, "readback");
  try {
    await gpu.scoped("read back", async () => {
      const enc = gpu.device.createCommandEncoder({ label: "read back" });
      enc.copyBufferToBuffer(buffer, 0, staging, 0, padded);
      gpu.device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    });
    const mapped = staging.getMappedRange(0, padded);
    try {
      return use(padded === bytes ? mapped : mapped.slice(0, bytes));
    } finally {
      staging.unmap();
    }
  } finally {
    gpu.pool.release(staging);
  }
}

/** A typed array of `dtype` over `buf`. */
export function makeArray(dtype: DType, buf: ArrayBuffer): AnyArray {
  return dtype === "f32"
    ? new Float32Array(buf)
    : dtype === "u32"
    ? new Uint32Array(buf)
    : new Int32Array(buf);
}
