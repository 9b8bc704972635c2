/**
 * A pool of GPU buffers, bucketed by usage and size. Creating WebGPU buffers is slow next to a small
 * dispatch, and training allocates the same shapes every step, so released buffers are kept for reuse.
 * Sizes round up to one of four buckets per power of two (at most 19% waste, few distinct sizes).
 */
import type { Gpu } from "./device.ts";
import { GpuOutOfMemoryError } from "./errors.ts";

/** Smallest buffer handed out: bindings of zero bytes are invalid, so empty tensors get this much. */
const MIN_BYTES = 16;

/** Rounds `bytes` up to a bucket: 16-byte aligned below 4 KiB, else 4 steps per power of two. */
export function bucketSize(bytes: number): number {
  const b = Math.max(MIN_BYTES, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/** Buffers by usage and bucket; `acquire` reuses, `release` returns, idle bytes are capped. */
export class BufferPool {
  #gpu: Gpu;
  #free = new Map<string, GPUBuffer[]>();
  #idleBytes = 0;
  #maxIdleBytes: number;
  /** Bytes in buffers handed out and not yet released. */
  liveBytes = 0;

  constructor(gpu: Gpu, maxIdleBytes: number) {
    this.#gpu = gpu;
    this.#maxIdleBytes = maxIdleBytes;
  }

  /** A buffer of at least `bytes` bytes with `usage`; throws `GpuOutOfMemoryError` past the device limit. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label = "gradsift"): GPUBuffer {
    this.#gpu.assertAlive();
    const size = bucketSize(bytes);
    const limit = this.#gpu.limits.maxBufferSize;
    if (size > limit) {
      throw new GpuOutOfMemoryError(
        `${label}: a buffer of ${fmtBytes(bytes)} exceeds this adapter's maxBufferSize of ` +
          `${fmtBytes(limit)}; use a smaller batch or a smaller budget per class`,
      );
    }
    const list = this.#free.get(key(usage, size));
    const reused = list?.pop();
    if (reused) {
      this.#idleBytes -= size;
      this.liveBytes += size;
      return reused;
    }
    let buffer: GPUBuffer;
    try {
      buffer = this.#gpu.device.createBuffer({ label, size, usage });
    } catch (e) {
      throw new GpuOutOfMemoryError(`${label}: could not allocate ${fmtBytes(size)} (${e})`, { cause: e });
    }
    this.liveBytes += size;
    return buffer;
  }

  /** Gives a buffer back for reuse (or destroys it when the idle cap is reached). */
  release(buffer: GPUBuffer): void {
    this.liveBytes -= buffer.size;
    if (this.#idleBytes + buffer.size > this.#maxIdleBytes || this.#gpu.lost) {
      buffer.destroy();
      return;
    }
    const k = key(buffer.usage, buffer.size);
    const list = this.#free.get(k);
    if (list) list.push(buffer);
    else this.#free.set(k, [buffer]);
    this.#idleBytes += buffer.size;
  }

  /** Bytes held idle for reuse. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** Destroys every idle buffer. */
  clear(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#idleBytes = 0;
  }
}

function key(usage: number, size: number): string {
  return `${usage}:${size}`;
}

/** "1.50 MiB" style sizes for messages. */
export function fmtBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(2)} ${units[u]}`;
}
