// The issue-3 matmul target alone: GPU 1024³ vs the benchmark's plain-TS i-k-j twin, same process.
import { acquireGpu } from "../src/gpu/device.ts";
import { encodeMatmul } from "../src/gpu/ops/matmul.ts";
import { tensor } from "../src/gpu/tensor.ts";
import { run } from "../src/gpu/step.ts";
import { Rng } from "../src/util/rng.ts";
import { tsMatmul } from "./ts_kernels.ts";
const gpu = await acquireGpu();
const n = 1024;
const rng = new Rng(1);
const av = rng.normals(n * n), bv = rng.normals(n * n);
const [a, b, c] = [
  tensor(gpu, av, [n, n]),
  tensor(gpu, bv, [n, n]),
  tensor(gpu, new Float32Array(n * n), [n, n]),
];
await run(gpu, "w", (s) => encodeMatmul(s, a, b, c));
const med = (x: number[]) => x.sort((p, q) => p - q)[1];
const g: number[] = [], t: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await run(gpu, "m", (s) => encodeMatmul(s, a, b, c));
  g.push(performance.now() - t0);
}
const out = new Float32Array(n * n);
tsMatmul({ a: av, b: bv, c: out }, { m: n, k: n, n, transA: false, transB: false });
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  tsMatmul({ a: av, b: bv, c: out }, { m: n, k: n, n, transA: false, transB: false });
  t.push(performance.now() - t0);
}
const [gm, tm] = [med(g), med(t)];
console.log(
  `matmul 1024³: GPU ${gm.toFixed(0)} ms (${(2 * n ** 3 / gm / 1e6).toFixed(2)} GFLOP/s), plain TS ${
    tm.toFixed(0)
  } ms (${(2 * n ** 3 / tm / 1e6).toFixed(2)} GFLOP/s), speed-up ${(tm / gm).toFixed(2)}×`,
);
