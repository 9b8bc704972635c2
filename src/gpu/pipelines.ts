/**
 * Pipeline cache. A kernel is declared once as data (`KernelSpec`: WGSL source, entry point, binding
 * kinds); its pipeline is built on first use for each set of `override` constants and kept. The cache
 * key is `name:entry{k=v,...}` with sorted constants: never tensor shapes, which travel as uniforms.
 */

/** How a kernel binds each buffer, in binding order (params first, then inputs, then outputs). */
export type BindingKind = "uniform" | "read" | "write";

/** A kernel as data. */
export interface KernelSpec {
  /** Kernel name, as in `shaders/<name>.wgsl`. */
  readonly name: string;
  /** WGSL source. */
  readonly code: string;
  /** Entry point (default "main"). */
  readonly entry?: string;
  /** Binding kinds for @group(0) @binding(0..). */
  readonly bindings: readonly BindingKind[];
}

/** A built pipeline with its explicit bind-group layout. */
export interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly key: string;
}

/** Override constants as WGSL sees them. */
export type Constants = Record<string, number | boolean>;

/** `name:entry{a=1,b=true}`: the cache key for a kernel and its constants. */
export function pipelineKey(spec: KernelSpec, constants: Constants = {}): string {
  const parts = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`);
  return `${spec.name}:${spec.entry ?? "main"}{${parts.join(",")}}`;
}

const BINDING_TYPE: Record<BindingKind, GPUBufferBindingType> = {
  uniform: "uniform",
  read: "read-only-storage",
  write: "storage",
};

/** Builds each (kernel, constants) pipeline once. */
export class PipelineCache {
  #device: GPUDevice;
  #modules = new Map<string, GPUShaderModule>();
  #layouts = new Map<string, GPUBindGroupLayout>();
  #pipelines = new Map<string, Pipeline>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of pipelines built so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /** The pipeline for `spec` with `constants`, built on first request. */
  get(spec: KernelSpec, constants: Constants = {}): Pipeline {
    const key = pipelineKey(spec, constants);
    const hit = this.#pipelines.get(key);
    if (hit) return hit;
    let module = this.#modules.get(spec.name);
    if (!module) {
      module = this.#device.createShaderModule({ label: spec.name, code: spec.code });
      this.#modules.set(spec.name, module);
    }
    const layoutKey = spec.bindings.join(",");
    let layout = this.#layouts.get(layoutKey);
    if (!layout) {
      layout = this.#device.createBindGroupLayout({
        label: `layout(${layoutKey})`,
        entries: spec.bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: BINDING_TYPE[kind] },
        })),
      });
      this.#layouts.set(layoutKey, layout);
    }
    const pipeline = this.#device.createComputePipeline({
      label: key,
      layout: this.#device.createPipelineLayout({ label: key, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.entry ?? "main", constants: numeric(constants) },
    });
    const built = { pipeline, layout, key };
    this.#pipelines.set(key, built);
    return built;
  }
}

/** WGSL `override bool` takes 0/1 through the API. */
function numeric(constants: Constants): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(constants)) out[k] = typeof v === "boolean" ? Number(v) : v;
  return out;
}
