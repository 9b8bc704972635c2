/**
 * A test Gpu with lowered limits, so the code paths for large inputs run on small data: storage
 * bindings capped at `maxBindingBytes` (work split into row chunks) and at most `maxWorkgroups`
 * workgroups per dispatch dimension (grids folded into 2-D). WebGPU has no way to lower the
 * per-dimension limit, so the Gpu's view of its limits is overridden; the device's real limit is higher,
 * so every folded dispatch stays valid.
 */
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";

/** Limits to lower; those left out keep the device's values. */
export interface TestLimits {
  maxWorkgroups?: number;
  maxBindingBytes?: number;
}

/** A new Gpu with `limits`; the caller destroys it. */
export async function gpuWithLimits(limits: TestLimits): Promise<Gpu> {
  const gpu = await acquireGpu({ maxBindingBytes: limits.maxBindingBytes });
  const max = limits.maxWorkgroups;
  if (max !== undefined) {
    const view = new Proxy(gpu.device.limits, {
      get: (t, k) => k === "maxComputeWorkgroupsPerDimension" ? max : Reflect.get(t, k),
    });
    Object.defineProperty(gpu, "limits", { value: view });
  }
  return gpu;
}
