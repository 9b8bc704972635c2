/**
 * Adapter and device acquisition. A `Gpu` bundles the device with what every kernel needs: its limits,
 * a buffer pool, a pipeline cache, device-loss tracking and error scopes that turn WebGPU errors into
 * typed ones. One `Gpu` per process is the norm (`getGpu()`); tests may make their own.
 */
import {
  GpuDeviceLostError,
  GpuOutOfMemoryError,
  GpuUnavailableError,
  GpuValidationError,
} from "./errors.ts";
import { BufferPool } from "./pool.ts";
import { PipelineCache } from "./pipelines.ts";

/** Options for `acquireGpu`. */
export interface GpuOptions {
  /** Adapter preference; "high-performance" picks a discrete GPU where there is one. */
  powerPreference?: GPUPowerPreference;
  /**
   * Cap on the bytes one storage binding may span, below the device's own limit. Work over it is
   * split. Tests lower it to exercise the splitting paths on small data.
   */
  maxBindingBytes?: number;
  /** Bytes of idle buffers the pool keeps for reuse (default 256 MiB). */
  poolBytes?: number;
  /** Run every matmul on this kernel instead of the adapter's default (benchmarks compare them). */
  matmul?: MatmulVariant;
}

/** matmul's kernels: workgroup-memory tiles (GPUs) or register blocks in 8-lane workgroups (CPUs). */
export type MatmulVariant = "tiled" | "blocked";

/** What `gradsift gpu-info` prints. */
export interface GpuInfo {
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  backend: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** Features used when the adapter has them. */
const OPTIONAL_FEATURES: GPUFeatureName[] = ["shader-f16", "timestamp-query"];

/** Limits raised to the adapter's maximum: large buffers and workgroups are the point of this layer. */
const RAISED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxStorageBuffersPerShaderStage",
] as const;

const NO_ADAPTER_HELP = "No WebGPU adapter was found. On Debian install Mesa's Vulkan drivers " +
  "(apt-get install mesa-vulkan-drivers; lavapipe runs WebGPU on the CPU) and make sure " +
  "XDG_RUNTIME_DIR is set; on a GPU machine install its Vulkan driver and loader (libvulkan1).";

/** A WebGPU device with gradsift's bookkeeping. */
export class Gpu {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  /** Largest byte span of one storage binding that kernels may use. */
  readonly maxBindingBytes: number;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /**
   * The adapter runs on the CPU (lavapipe, SwiftShader): kernels whose best shape differs between CPU
   * SIMD and GPU warps (matmul) pick their variant by it.
   */
  readonly onCpu: boolean;
  /** The matmul kernel every product uses (GpuOptions.matmul), or null for the default by shape. */
  readonly matmulVariant: MatmulVariant | null;
  #lost: string | null = null;

  constructor(adapter: GPUAdapter, device: GPUDevice, options: GpuOptions = {}) {
    this.adapter = adapter;
    this.device = device;
    this.limits = device.limits;
    this.features = new Set(device.features);
    const deviceMax = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.maxBindingBytes = Math.min(options.maxBindingBytes ?? deviceMax, deviceMax);
    this.pool = new BufferPool(this, options.poolBytes ?? 256 * 2 ** 20);
    this.pipelines = new PipelineCache(device);
    const info = adapter.info;
    this.onCpu = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
      /llvmpipe|lavapipe|swiftshader|softpipe/i.test(info.description);
    this.matmulVariant = options.matmul ?? null;
    device.lost.then((info) => {
      this.#lost = `${info.reason}: ${info.message || "no message"}`;
    });
    device.addEventListener("uncapturederror", (ev) => {
      console.error(`gradsift: uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  /** True once the device is lost; every later call throws `GpuDeviceLostError`. */
  get lost(): boolean {
    return this.#lost !== null;
  }

  /** Throws `GpuDeviceLostError` if the device is gone. */
  assertAlive(): void {
    if (this.#lost !== null) {
      throw new GpuDeviceLostError(
        `the GPU device was lost (${this.#lost}); restart the process to get a new one`,
      );
    }
  }

  /** Pushes validation and out-of-memory error scopes; `popScopes` turns what they caught into errors. */
  pushScopes(): void {
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
  }

  /** Pops the scopes of `pushScopes` and throws the first error caught, typed, naming `label`. */
  async popScopes(label: string): Promise<void> {
    // Both pops are issued before the first await: a step pushed while this one's errors are pending
    // (the hybrid OMP's next batch) must not take the outer scope.
    const [validation, oom] = await Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]);
    this.assertAlive();
    if (oom) throw new GpuOutOfMemoryError(`${label}: the GPU ran out of memory (${oom.message})`);
    if (validation) throw new GpuValidationError(`${label}: ${validation.message}`);
  }

  /** Runs `fn` inside error scopes, so WebGPU errors it causes surface as typed exceptions. */
  async scoped<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
    this.assertAlive();
    this.pushScopes();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      await this.popScopes(label).catch(() => {});
      throw e;
    }
    await this.popScopes(label);
    return result;
  }

  /** Adapter description, backend, features and limits. */
  info(): GpuInfo {
    const a = this.adapter.info;
    const limits: Record<string, number> = {};
    for (const key in this.device.limits) {
      const v = (this.device.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === "number") limits[key] = v;
    }
    return {
      description: a.description || "(no description)",
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      backend: backendOf(a),
      isFallbackAdapter: Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      features: [...this.device.features].sort(),
      limits,
    };
  }

  /** Frees pooled buffers and destroys the device. */
  destroy(): void {
    this.pool.clear();
    this.device.destroy();
  }
}

/** Deno's WebGPU (wgpu) exposes no backend name; on Linux it is Vulkan, and lavapipe is Mesa's CPU one. */
function backendOf(info: GPUAdapterInfo): string {
  const d = info.description.toLowerCase();
  if (d.includes("llvmpipe") || d.includes("lavapipe")) return "vulkan (Mesa lavapipe, CPU)";
  if (Deno.build.os === "darwin") return "metal";
  if (Deno.build.os === "windows") return "d3d12 or vulkan";
  return "vulkan";
}

/** Requests an adapter and a device with raised limits; throws `GpuUnavailableError` naming the fix. */
export async function acquireGpu(options: GpuOptions = {}): Promise<Gpu> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) {
    throw new GpuUnavailableError("this runtime has no WebGPU (navigator.gpu); run gradsift with Deno 2");
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigator.gpu.requestAdapter({
      powerPreference: options.powerPreference ?? "high-performance",
    });
  } catch (e) {
    throw new GpuUnavailableError(`${NO_ADAPTER_HELP} (requestAdapter failed: ${e})`, { cause: e });
  }
  if (!adapter) throw new GpuUnavailableError(NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) requiredLimits[key] = adapter.limits[key];
  // Alignments are "better" when lower: take the adapter's, so row chunks can start on finer bounds.
  requiredLimits.minStorageBufferOffsetAlignment = adapter.limits.minStorageBufferOffsetAlignment;
  requiredLimits.minUniformBufferOffsetAlignment = adapter.limits.minUniformBufferOffsetAlignment;
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: "gradsift", requiredFeatures, requiredLimits });
  } catch (e) {
    throw new GpuUnavailableError(`the adapter refused a device: ${e}`, { cause: e });
  }
  return new Gpu(adapter, device, options);
}

let shared: Promise<Gpu> | null = null;

/** The process-wide `Gpu`, acquired on first use. A lost device is replaced on the next call. */
export async function getGpu(): Promise<Gpu> {
  if (shared) {
    const gpu = await shared.catch(() => null);
    if (gpu && !gpu.lost) return gpu;
  }
  shared = acquireGpu();
  return await shared;
}
