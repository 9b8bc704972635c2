import assert from "node:assert/strict";
import { encodeSoftmax, softmax, softmaxTolerance } from "../../../src/gpu/ops/softmax.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** Float64 row softmax of x (n, c), written out plainly: max, exponentials, sum, divide. */
function refSoftmax(x: ArrayLike<number>, n: number, c: number): Float64Array {
  const y = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, x[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[i * c + j] - m);
    for (let j = 0; j < c; j++) y[i * c + j] = Math.exp(x[i * c + j] - m) / s;
  }
  return y;
}

/** softmax of xv (n, c) on `gpu`, read back. */
async function gpuSoftmax(gpu: Gpu, xv: Float32Array, n: number, c: number): Promise<Float32Array> {
  const x = tensor(gpu, xv, [n, c]);
  let y!: Tensor;
  await run(gpu, "softmax test", (s) => (y = softmax(s, x)));
  assert.deepEqual(y.shape, [n, c]);
  const got = await y.read();
  [x, y].forEach((t) => t.dispose());
  return got;
}

Deno.test("softmax matches float64 at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [0, 5], [4, 0], [3, 64], [2, 65], [5, 255], [4, 256], [3, 257]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2) as [number, number]);
  let seed = 100;
  for (const [n, c] of cases) {
    const xv = randn(new Rng(seed), n, c, 3);
    const got = await gpuSoftmax(gpu, xv, n, c);
    assertClose(`softmax n=${n} c=${c} seed=${seed++}`, got, refSoftmax(xv, n, c), softmaxTolerance(c));
  }
});

/**
 * Logits around ±1000 (exp(1000) overflows float32 and float64 alike), and in each row a spike 100
 * above the rest, in the first column, the last, or one between. exp(x − m) overflows unless m is the
 * true row max, so every column must reach the max reduction.
 */
function spikyLogits(seed: number, n: number, c: number): Float32Array {
  const x = randn(new Rng(seed), n, c, 3);
  for (let i = 0; i < n; i++) {
    const offset = i % 2 ? 1000 : -1000;
    for (let j = 0; j < c; j++) x[i * c + j] += offset;
    x[i * c + [0, c - 1, (i * 7) % c][i % 3]] = offset + 100;
  }
  return x;
}

Deno.test("softmax: large logits do not overflow (the row max is subtracted)", async () => {
  const gpu = await testGpu();
  for (const [n, c] of [[6, 37], [6, 200], [6, 257]]) {
    const xv = spikyLogits(5, n, c);
    const got = await gpuSoftmax(gpu, xv, n, c);
    assertClose(`softmax large n=${n} c=${c}`, got, refSoftmax(xv, n, c), softmaxTolerance(c));
  }
});

Deno.test("softmax: normalising along the wrong axis is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const xv = randn(new Rng(7), 9, 9);
  const got = await gpuSoftmax(gpu, xv, 9, 9);
  const transposed = (a: ArrayLike<number>) =>
    Float64Array.from(a, (_, e) => a[(e % 9) * 9 + Math.floor(e / 9)]);
  const byColumn = transposed(refSoftmax(transposed(xv), 9, 9));
  assert.throws(() => assertClose("wrong axis", got, byColumn, softmaxTolerance(9)));
});

Deno.test("softmax: more rows than one grid dimension holds (70,000 on the real device)", async () => {
  const gpu = await testGpu();
  const [n, c] = [70_000, 3];
  const xv = randn(new Rng(9), n, c);
  const got = await gpuSoftmax(gpu, xv, n, c);
  assertClose(`softmax n=${n} c=${c}`, got, refSoftmax(xv, n, c), softmaxTolerance(c));
});

Deno.test("softmax: rows over the binding limit are split, grids over the dimension limit fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 16, maxBindingBytes: 16384 });
  try {
    const [n, c] = [300, 33]; // 39.6 KB over 16 KiB bindings: several chunks, each a folded grid
    const xv = randn(new Rng(11), n, c);
    const x = tensor(gpu, xv, [n, c]);
    const y = empty(gpu, [n, c]);
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      encodeSoftmax(s, x, y);
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    assertClose("softmax split", await y.read(), refSoftmax(xv, n, c), softmaxTolerance(c));
    [x, y].forEach((t) => t.dispose());
  } finally {
    gpu.destroy();
  }
});

Deno.test("softmax: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [3, 4]);
  const y = empty(gpu, [3, 5]);
  await assert.rejects(
    () => run(gpu, "t", (s) => encodeSoftmax(s, x, y)),
    (e: unknown) => e instanceof ShapeError && /^softmax: y .*\(3, 4\), got \(3, 5\)/.test(e.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => void softmax(s, empty(gpu, [12]))),
    (e: unknown) => e instanceof ShapeError && /^softmax: x must be 2-D, got shape \(12\)/.test(e.message),
  );
  [x, y].forEach((t) => t.dispose());
});
