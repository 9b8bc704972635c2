/**
 * Kernel benchmarks: each kernel at three sizes, GPU wall time (one submitted step, waited for) and the
 * same computation as a plain TypeScript loop over Float32Array in the same run. Throughput is GFLOP/s
 * for arithmetic-bound kernels and GB/s (bytes read + written once) for memory-bound ones.
 * `deno task bench kernels [--quick]`.
 */
import { acquireGpu, type Gpu } from "../src/gpu/device.ts";
import type { Step } from "../src/gpu/step.ts";
import { type Tensor, tensor } from "../src/gpu/tensor.ts";
import { encodeMatmul } from "../src/gpu/ops/matmul.ts";
import { Rng } from "../src/util/rng.ts";
import { fmtMs, provenance, table, timeGpu, timeSync } from "./util.ts";

/** One benchmark case: GPU work, its CPU twin, and how much work it is. */
export interface Case {
  kernel: string;
  size: string;
  /** FLOPs (for GFLOP/s) or bytes moved (for GB/s). */
  work: number;
  unit: "GFLOP/s" | "GB/s";
  /** Records the GPU work; tensors come from `setup`. */
  gpu: (step: Step) => void;
  /** The same computation in plain TypeScript. */
  cpu: () => void;
  /** Frees GPU tensors. */
  dispose: () => void;
}

/** A Float32Array of normals and its GPU copy. */
export function data(gpu: Gpu, rng: Rng, shape: number[]): [Float32Array, Tensor] {
  const a = rng.normals(shape.reduce((x, y) => x * y, 1));
  return [a, tensor(gpu, a, shape)];
}

/** Plain TypeScript C = A·B (i-k-j order, the cache-friendly loop). */
export function tsMatmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number) {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let t = 0; t < k; t++) {
      const av = a[i * k + t];
      const bt = t * n;
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bt + j];
    }
  }
}

function matmulCase(gpu: Gpu, rng: Rng, m: number, k: number, n: number): Case {
  const [av, a] = data(gpu, rng, [m, k]);
  const [bv, b] = data(gpu, rng, [k, n]);
  const c = tensor(gpu, new Float32Array(m * n), [m, n]);
  const cv = new Float32Array(m * n);
  return {
    kernel: "matmul A·B",
    size: `${m}×${k}×${n}`,
    work: 2 * m * k * n,
    unit: "GFLOP/s",
    gpu: (s) => encodeMatmul(s, a, b, c),
    cpu: () => tsMatmul(av, bv, cv, m, k, n),
    dispose: () => [a, b, c].forEach((t) => t.dispose()),
  };
}

/** Every case, three sizes per kernel. */
export function cases(gpu: Gpu, quick: boolean): Case[] {
  const rng = new Rng(42);
  const out: Case[] = [];
  for (const s of quick ? [128, 256, 512] : [256, 512, 1024]) out.push(matmulCase(gpu, rng, s, s, s));
  return out;
}

export async function main(): Promise<void> {
  const quick = Deno.args.includes("--quick");
  const gpu = await acquireGpu();
  console.log(`# Kernel benchmarks\n${await provenance(gpu)}\n`);
  const rows: string[][] = [];
  for (const c of cases(gpu, quick)) {
    const gpuMs = await timeGpu(gpu, c.gpu, 5);
    const cpuMs = timeSync(c.cpu, 3, 1);
    const rate = (ms: number) => (c.work / (ms * 1e6)).toFixed(2);
    rows.push([
      c.kernel,
      c.size,
      fmtMs(gpuMs),
      `${rate(gpuMs)} ${c.unit}`,
      fmtMs(cpuMs),
      `${rate(cpuMs)} ${c.unit}`,
      `${(cpuMs / gpuMs).toFixed(2)}×`,
    ]);
    console.log(
      table(["kernel", "size", "GPU", "GPU rate", "plain TS", "TS rate", "speed-up"], rows.slice(-1)).split(
        "\n",
      )[2],
    );
    c.dispose();
  }
  console.log("\n" + table(["kernel", "size", "GPU", "GPU rate", "plain TS", "TS rate", "speed-up"], rows));
  gpu.destroy();
}
