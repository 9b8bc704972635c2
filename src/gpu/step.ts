/**
 * A `Step` records a batch of GPU work into one command encoder and submits it once — one submit per
 * training step or selection round. `encode…` functions in `ops/` only record into a step; nothing
 * they do submits or reads back. Uniform buffers come from the pool and return to it when the
 * submission is done. Errors raised while recording surface, typed, from `submit()`.
 */
import type { Gpu } from "./device.ts";
import type { Constants, KernelSpec } from "./pipelines.ts";
import { type AnyArray, type ArrayOf, type DType, makeArray, readBuffer, type Tensor } from "./tensor.ts";
import { GpuOutOfMemoryError } from "./errors.ts";
import { fmtBytes } from "./pool.ts";

/** A byte range of a tensor bound to one binding (for work split under the binding limit). */
export interface Slice {
  tensor: Tensor<DType>;
  /** Byte offset; a multiple of `minStorageBufferOffsetAlignment`. */
  offset: number;
  /** Bytes bound. */
  bytes: number;
}

/** What a binding slot accepts: a whole tensor or a slice of one. */
export type Binding = Tensor<DType> | Slice;

/** Integer ceiling of a / b: every dispatch size goes through it. */
export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

const UNIFORM_USAGE = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

/** A read-back recorded into a step: its staging buffer and the promise to settle. */
interface DeferredRead {
  staging: GPUBuffer;
  bytes: number;
  dtype: DType;
  done: (a: AnyArray) => void;
  fail: (e: unknown) => void;
}

/** A command encoder with one open compute pass, pooled uniforms and deferred read-backs. */
export class Step {
  readonly gpu: Gpu;
  readonly label: string;
  #encoder: GPUCommandEncoder;
  #pass: GPUComputePassEncoder | null = null;
  #uniforms: GPUBuffer[] = [];
  #deferred: Tensor<DType>[] = [];
  #reads: DeferredRead[] = [];
  #submitted = false;
  /** Dispatches recorded (for tests and benchmarks). */
  dispatches = 0;

  constructor(gpu: Gpu, label = "step") {
    gpu.assertAlive();
    this.gpu = gpu;
    this.label = label;
    gpu.pushScopes();
    this.#encoder = gpu.device.createCommandEncoder({ label });
  }

  /**
   * Records one dispatch of `spec` with `constants`, a packed Params buffer (or null) and bindings. `groups`
   * is the grid, or `{ indirect, offset }`: three u32 grid sizes that earlier GPU work wrote into a tensor
   * (a grid of 0 skips the kernel without a read-back).
   */
  dispatch(
    spec: KernelSpec,
    constants: Constants,
    params: ArrayBuffer | null,
    bindings: readonly Binding[],
    groups: readonly [number, number?, number?] | { indirect: Tensor<"u32">; offset: number },
  ): void {
    if (Array.isArray(groups)) {
      const [x, y = 1, z = 1] = groups as readonly [number, number?, number?];
      if (x === 0 || y === 0 || z === 0) return;
      const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
      if (x > max || y > max || z > max) {
        throw new Error(`${spec.name}: dispatch (${x}, ${y}, ${z}) exceeds ${max} workgroups per dimension`);
      }
    }
    const { pipeline, layout } = this.gpu.pipelines.get(spec, constants);
    const entries: GPUBindGroupEntry[] = [];
    let slot = 0;
    if (params) {
      const buffer = this.gpu.pool.acquire(params.byteLength, UNIFORM_USAGE, `${spec.name}.params`);
      this.gpu.device.queue.writeBuffer(buffer, 0, params);
      this.#uniforms.push(buffer);
      entries.push({ binding: slot++, resource: { buffer, size: params.byteLength } });
    }
    for (const b of bindings) entries.push({ binding: slot++, resource: this.#resource(spec.name, b) });
    const bindGroup = this.gpu.device.createBindGroup({ label: spec.name, layout, entries });
    const pass = this.#pass ??= this.#encoder.beginComputePass({ label: this.label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    if (Array.isArray(groups)) {
      const [x, y = 1, z = 1] = groups as readonly [number, number?, number?];
      pass.dispatchWorkgroups(x, y, z);
    } else {
      const g = groups as { indirect: Tensor<"u32">; offset: number };
      pass.dispatchWorkgroupsIndirect(g.indirect.buffer, g.offset);
    }
    this.dispatches++;
  }

  #resource(kernel: string, b: Binding): GPUBufferBinding {
    const slice = "tensor" in b ? b : { tensor: b, offset: 0, bytes: b.byteLength };
    const bytes = Math.max(4, slice.bytes);
    if (bytes > this.gpu.maxBindingBytes) {
      throw new GpuOutOfMemoryError(
        `${kernel}: binding "${slice.tensor.label}" spans ${fmtBytes(bytes)}, over the adapter's ` +
          `storage binding limit of ${fmtBytes(this.gpu.maxBindingBytes)}; process it in smaller blocks`,
      );
    }
    return { buffer: slice.tensor.buffer, offset: slice.offset, size: bytes };
  }

  /**
   * Disposes `tensors` once this step is submitted. A tensor used by recorded but unsubmitted work must
   * not go back to the pool earlier: a later `write()` to the reused buffer would reach the queue before
   * this step's commands and overwrite what they read.
   */
  release(...tensors: Tensor<DType>[]): void {
    this.#deferred.push(...tensors);
  }

  /** Records a copy of `bytes` bytes from `src` at `srcOffset` to `dst` at `dstOffset` (multiples of 4). */
  copy(
    src: Tensor<DType>,
    dst: Tensor<DType>,
    bytes = Math.min(src.byteLength, dst.byteLength),
    srcOffset = 0,
    dstOffset = 0,
  ): void {
    if (bytes === 0) return;
    if (srcOffset + bytes > src.byteLength || dstOffset + bytes > dst.byteLength) {
      throw new Error(`copy of ${bytes} bytes out of range (${src.label} → ${dst.label})`);
    }
    this.#endPass();
    this.#encoder.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /**
   * Copies `t` to the CPU at the end of this step: the promise resolves after `submit()` with the data.
   * The copy is in the step's own command buffer, and `submit()` waits for the mapping together with its
   * error scopes, so a step and its read-back cost one GPU→CPU round trip (~11 ms in Deno) instead of two.
   */
  readBack<D extends DType>(t: Tensor<D>): Promise<ArrayOf<D>> {
    const bytes = Math.ceil(t.byteLength / 4) * 4;
    const staging = this.gpu.pool.acquire(
      Math.max(4, bytes),
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      "readback",
    );
    this.#endPass();
    if (bytes > 0) this.#encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    const read = new Promise<ArrayOf<D>>((done, fail) => {
      this.#reads.push({
        staging,
        bytes: t.byteLength,
        dtype: t.dtype,
        done: done as (a: AnyArray) => void,
        fail,
      });
    });
    read.catch(() => {}); // a step abandoned before submit rejects it; callers that never await it are fine
    return read;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /**
   * Submits what is recorded so far and goes on recording into a fresh command encoder, so the GPU can
   * start while the CPU prepares the rest. Error scopes, pooled uniforms and read-backs stay with the step:
   * `submit()` ends it as usual (one wait for all of it).
   */
  flush(): void {
    if (this.#submitted) throw new Error(`step "${this.label}" flushed after submit`);
    this.#endPass();
    this.gpu.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = this.gpu.device.createCommandEncoder({ label: this.label });
  }

  /** Submits the recorded work; throws a typed error if any recorded command failed. */
  async submit(): Promise<void> {
    if (this.#submitted) throw new Error(`step "${this.label}" submitted twice`);
    this.#submitted = true;
    const uniforms = this.#uniforms;
    try {
      this.#endPass();
      this.gpu.device.queue.submit([this.#encoder.finish()]);
    } finally {
      this.#deferred.forEach((t) => t.dispose());
      this.gpu.device.queue.onSubmittedWorkDone().then(
        () => uniforms.forEach((u) => this.gpu.pool.release(u)),
        () => {},
      );
      const maps = this.#reads.map((r) => this.#map(r));
      try {
        await this.gpu.popScopes(this.label);
      } finally {
        await Promise.all(maps);
      }
    }
  }

  /** Maps one deferred read-back's staging buffer and settles its promise. */
  async #map(r: DeferredRead): Promise<void> {
    try {
      const size = Math.max(4, Math.ceil(r.bytes / 4) * 4);
      await r.staging.mapAsync(GPUMapMode.READ, 0, size);
      const copy = r.staging.getMappedRange(0, size).slice(0, r.bytes);
      r.staging.unmap();
      r.done(makeArray(r.dtype, copy));
    } catch (e) {
      r.fail(e);
    } finally {
      this.gpu.pool.release(r.staging);
    }
  }

  /** Drops the recorded work without submitting it (after an error while recording). */
  async abandon(): Promise<void> {
    if (this.#submitted) return;
    this.#submitted = true;
    this.#endPass();
    this.#uniforms.forEach((u) => this.gpu.pool.release(u));
    this.#deferred.forEach((t) => t.dispose());
    for (const r of this.#reads) {
      this.gpu.pool.release(r.staging);
      r.fail(new Error(`step "${this.label}" abandoned before its read-back`));
    }
    await this.gpu.popScopes(this.label).catch(() => {});
  }

  /** Submits and waits until the GPU has finished the work (for timing). */
  async finish(): Promise<void> {
    await this.submit();
    await this.gpu.device.queue.onSubmittedWorkDone();
  }
}

/** Records work with `record`, submits it as one step, and waits for the GPU. */
export async function run(gpu: Gpu, label: string, record: (step: Step) => void): Promise<void> {
  const step = new Step(gpu, label);
  try {
    record(step);
  } catch (e) {
    await step.abandon();
    throw e;
  }
  await step.finish();
}

/** Reads a tensor back (re-exported for callers that only import `step`). */
export async function readTensor(t: Tensor<DType>): Promise<AnyArray> {
  return await readBuffer(t.gpu, t.buffer, t.byteLength, t.dtype);
}
