/** Human-readable adapter information and a small kernel demo for `gradsift gpu-info` / `serve`. */
import type { Gpu, GpuInfo } from "./device.ts";
import { matmul } from "./ops/matmul.ts";
import { run } from "./step.ts";
import { tensor } from "./tensor.ts";
import { Rng } from "../util/rng.ts";

/** Limits worth showing first; the rest follow in `--json`. */
const KEY_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupsPerDimension",
  "minStorageBufferOffsetAlignment",
];

/** A few lines describing the adapter. */
export function gpuInfoText(info: GpuInfo): string {
  const lines = [
    `adapter:  ${info.description}${info.isFallbackAdapter ? " (fallback adapter)" : ""}`,
    `backend:  ${info.backend}`,
    `vendor:   ${info.vendor || "-"}  device: ${info.device || "-"}  architecture: ${
      info.architecture || "-"
    }`,
    `features: ${info.features.join(", ") || "(none)"}`,
    "limits:",
    ...KEY_LIMITS.filter((k) => k in info.limits).map((k) => `  ${k.padEnd(36)} ${info.limits[k]}`),
  ];
  return lines.join("\n");
}

/** Multiplies two 512×512 matrices on the GPU and reports the rate: a smoke test of the adapter. */
export async function kernelDemo(gpu: Gpu, n = 512): Promise<string> {
  const rng = new Rng(0);
  const a = tensor(gpu, rng.normals(n * n), [n, n], "demo.a");
  const b = tensor(gpu, rng.normals(n * n), [n, n], "demo.b");
  await run(gpu, "demo warm-up", (s) => matmul(s, a, b).dispose());
  const t0 = performance.now();
  let c = a;
  await run(gpu, "demo", (s) => (c = matmul(s, a, b)));
  const ms = performance.now() - t0;
  const first = (await c.read())[0];
  [a, b, c].forEach((t) => t.dispose());
  const gflops = (2 * n ** 3) / (ms * 1e6);
  return `kernel demo: matmul ${n}×${n}×${n} in ${ms.toFixed(1)} ms (${
    gflops.toFixed(2)
  } GFLOP/s), C[0,0] = ${first.toFixed(4)}`;
}
