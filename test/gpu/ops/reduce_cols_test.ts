import assert from "node:assert/strict";
import { colSum, encodeColSum, reduceColsTolerance } from "../../../src/gpu/ops/reduce_cols.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** Float64 out[j] = Σ_i x[i, j]. */
function refColSum(x: ArrayLike<number>, n: number, c: number): Float64Array {
  const out = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) out[j] += x[i * c + j];
  }
  return out;
}

/** Column sums of xv (n, c) on `gpu`, read back. */
async function gpuColSum(gpu: Gpu, xv: Float32Array, n: number, c: number): Promise<Float32Array> {
  const x = tensor(gpu, xv, [n, c]);
  let out!: Tensor;
  await run(gpu, "reduce_cols test", (s) => (out = colSum(s, x)));
  assert.deepEqual(out.shape, [c]);
  const got = await out.read();
  [x, out].forEach((t) => t.dispose());
  return got;
}

Deno.test("reduce_cols matches float64 at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [0, 5], [4, 0], [3, 15], [3, 16], [2, 17], [257, 3], [1000, 7], [
    65,
    63,
  ]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2) as [number, number]);
  let seed = 100;
  for (const [n, c] of cases) {
    const xv = randn(new Rng(seed), n, c);
    const got = await gpuColSum(gpu, xv, n, c);
    assertClose(
      `reduce_cols n=${n} c=${c} seed=${seed++}`,
      got,
      refColSum(xv, n, c),
      reduceColsTolerance(n),
      maxAbs(xv),
    );
  }
});

Deno.test("reduce_cols: summing along the wrong axis is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const xv = randn(new Rng(7), 9, 9);
  const got = await gpuColSum(gpu, xv, 9, 9);
  const rowSums = Float64Array.from(
    { length: 9 },
    (_, i) => xv.subarray(9 * i, 9 * i + 9).reduce((a, v) => a + v, 0),
  );
  assert.throws(() => assertClose("wrong axis", got, rowSums, reduceColsTolerance(9), maxAbs(xv)));
});

Deno.test("reduce_cols: rows over the binding limit are summed in chunks, column tiles fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 3, maxBindingBytes: 16384 });
  try {
    const [n, c] = [120, 70]; // 33.6 KB over 16 KiB bindings: several chunks; 5 column tiles fold (3, 2)
    const xv = randn(new Rng(11), n, c);
    const x = tensor(gpu, xv, [n, c]);
    const out = tensor(gpu, new Float32Array(c).fill(NaN)); // the first chunk overwrites, never reads
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      encodeColSum(s, x, out);
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    assertClose(
      "reduce_cols split",
      await out.read(),
      refColSum(xv, n, c),
      reduceColsTolerance(n),
      maxAbs(xv),
    );
  } finally {
    gpu.destroy();
  }
});

Deno.test("reduce_cols: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [3, 4]);
  const out = empty(gpu, [3]);
  await assert.rejects(
    () => run(gpu, "t", (s) => encodeColSum(s, x, out)),
    (e: unknown) => e instanceof ShapeError && /^reduce_cols: out .*\(4\), got \(3\)/.test(e.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => void colSum(s, out)),
    (e: unknown) => e instanceof ShapeError && /^reduce_cols: x must be 2-D, got shape \(3\)/.test(e.message),
  );
  [x, out].forEach((t) => t.dispose());
});
