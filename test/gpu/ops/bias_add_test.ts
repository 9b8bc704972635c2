import assert from "node:assert/strict";
import { biasAdd, biasAddTolerance, encodeBiasAdd } from "../../../src/gpu/ops/bias_add.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** Float64 out[i, j] = x[i, j] + bias[j]. */
function refBiasAdd(x: ArrayLike<number>, bias: ArrayLike<number>, n: number, c: number): Float64Array {
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) out[i * c + j] = x[i * c + j] + bias[j];
  }
  return out;
}

/** Runs bias_add on (n, c), out of place or in place, and compares with the reference. */
async function check(gpu: Gpu, n: number, c: number, inPlace: boolean, seed: number) {
  const rng = new Rng(seed);
  const xv = randn(rng, n, c);
  const bv = randn(rng, c);
  const x = tensor(gpu, xv, [n, c]);
  const bias = tensor(gpu, bv, [c]);
  let out: Tensor = x;
  await run(gpu, "bias_add test", (s) => {
    if (inPlace) encodeBiasAdd(s, x, bias);
    else out = biasAdd(s, x, bias);
  });
  const what = `bias_add n=${n} c=${c} inPlace=${inPlace} seed=${seed}`;
  assertClose(what, await out.read(), refBiasAdd(xv, bv, n, c), biasAddTolerance());
  if (!inPlace) assertClose(`${what}: x untouched`, await x.read(), xv, { atol: 0, rtol: 0 });
  new Set([x, bias, out]).forEach((t) => t.dispose());
}

Deno.test("bias_add matches float64 at awkward shapes, out of place and in place", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [0, 5], [64, 64], [65, 63], [255, 1], [1, 257], [257, 3]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2) as [number, number]);
  let seed = 100;
  for (const [n, c] of cases) {
    for (const inPlace of [false, true]) await check(gpu, n, c, inPlace, seed++);
  }
});

Deno.test("bias_add: a bias broadcast along the wrong axis is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const rng = new Rng(7);
  const xv = randn(rng, 8, 8);
  const bv = randn(rng, 8);
  const [x, bias] = [tensor(gpu, xv, [8, 8]), tensor(gpu, bv, [8])];
  let out!: Tensor;
  await run(gpu, "t", (s) => (out = biasAdd(s, x, bias)));
  const got = await out.read();
  assertClose("bias_add 8x8", got, refBiasAdd(xv, bv, 8, 8), biasAddTolerance());
  const byRow = xv.map((v, e) => v + bv[Math.floor(e / 8)]);
  assert.throws(() => assertClose("wrong axis", got, byRow, biasAddTolerance()));
  [x, bias, out].forEach((t) => t.dispose());
});

Deno.test("bias_add: rows over the binding limit are split, grids over the dimension limit fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 4, maxBindingBytes: 16384 });
  try {
    let dispatches = 0;
    const [n, c] = [400, 13]; // x is 20.8 KB over 16 KiB bindings: 2 chunks, each ≥ 13 workgroups, folded
    const rng = new Rng(11);
    const xv = randn(rng, n, c);
    const bv = randn(rng, c);
    const [x, bias] = [tensor(gpu, xv, [n, c]), tensor(gpu, bv, [c])];
    let out!: Tensor;
    await run(gpu, "t", (s) => {
      out = biasAdd(s, x, bias);
      encodeBiasAdd(s, x, bias);
      dispatches = s.dispatches;
    });
    assert.equal(dispatches, 4, "expected 2 chunks per call");
    const want = refBiasAdd(xv, bv, n, c);
    assertClose("bias_add split", await out.read(), want, biasAddTolerance());
    assertClose("bias_add split in place", await x.read(), want, biasAddTolerance());
  } finally {
    gpu.destroy();
  }
});

Deno.test("bias_add: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [3, 4]);
  const bias = empty(gpu, [5]);
  const out = empty(gpu, [4, 3]);
  await assert.rejects(
    () => run(gpu, "t", (s) => void biasAdd(s, x, bias)),
    (e: unknown) => e instanceof ShapeError && /^bias_add: bias .*\(4\).*\(3, 4\).*\(5\)/.test(e.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => encodeBiasAdd(s, x, empty(gpu, [4]), out)),
    (e: unknown) => e instanceof ShapeError && /^bias_add: out .*\(3, 4\).*\(4, 3\)/.test(e.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => void biasAdd(s, empty(gpu, [12]), empty(gpu, [12]))),
    (e: unknown) => e instanceof ShapeError && /^bias_add: x must be 2-D/.test(e.message),
  );
  [x, bias, out].forEach((t) => t.dispose());
});
