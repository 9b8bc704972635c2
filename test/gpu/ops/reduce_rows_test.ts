import assert from "node:assert/strict";
import {
  encodeRowMaxArgmax,
  encodeRowSum,
  encodeSqNorms,
  reduceRowsTolerance,
  type RowMaxArgmax,
  rowMaxArgmax,
  rowSum,
  sqNorms,
} from "../../../src/gpu/ops/reduce_rows.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** Float64 Σ_j f(x[i, j]) per row. */
function refRowSum(x: ArrayLike<number>, n: number, c: number, f = (v: number) => v): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) out[i] += f(x[i * c + j]);
  }
  return out;
}

/** Row max and the first column attaining it. */
function refMaxArgmax(x: ArrayLike<number>, n: number, c: number): { max: number[]; argmax: number[] } {
  const max: number[] = [];
  const argmax: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (x[i * c + j] > x[i * c + best]) best = j;
    max.push(x[i * c + best]);
    argmax.push(best);
  }
  return { max, argmax };
}

/** Integers in [-2, 2]: rows full of ties. */
function tiedValues(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.int(5) - 2);
}

/** All three reductions of xv (n, c) on `gpu`, read back (max/argmax only when c > 0). */
async function reduceAll(gpu: Gpu, xv: Float32Array, n: number, c: number) {
  const x = tensor(gpu, xv, [n, c]);
  const out: { sum?: Tensor; sq?: Tensor; best?: RowMaxArgmax } = {};
  await run(gpu, "reduce_rows test", (s) => {
    out.sum = rowSum(s, x);
    out.sq = sqNorms(s, x);
    if (c > 0) out.best = rowMaxArgmax(s, x);
  });
  const got = {
    sum: await out.sum!.read(),
    sq: await out.sq!.read(),
    max: out.best ? [...await out.best.max.read()] : [],
    argmax: out.best ? [...await out.best.argmax.read()] : [],
  };
  [x, out.sum!, out.sq!, out.best?.max, out.best?.argmax].forEach((t) => t?.dispose());
  return got;
}

/** Compares the three reductions of xv (n, c) with the references. */
function checkAll(
  what: string,
  xv: Float32Array,
  n: number,
  c: number,
  got: Awaited<ReturnType<typeof reduceAll>>,
) {
  const tol = reduceRowsTolerance(c);
  assertClose(`${what} sum`, got.sum, refRowSum(xv, n, c), tol, maxAbs(xv));
  assertClose(`${what} sq_norm`, got.sq, refRowSum(xv, n, c, (v) => v * v), tol, maxAbs(xv) ** 2);
  if (c > 0) {
    assert.deepEqual({ max: got.max, argmax: got.argmax }, refMaxArgmax(xv, n, c), `${what} max_argmax`);
  }
}

Deno.test("reduce_rows: sums, squared norms and max/argmax match float64 at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [0, 5], [4, 0], [3, 31], [3, 64], [2, 65], [5, 255], [4, 256], [
    3,
    257,
  ]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2) as [number, number]);
  cases.push([2, 1000]); // columns wrap around the 256 threads several times
  let seed = 100;
  for (const [n, c] of cases) {
    const xv = randn(new Rng(seed), n, c);
    checkAll(`reduce_rows n=${n} c=${c} seed=${seed++}`, xv, n, c, await reduceAll(gpu, xv, n, c));
  }
});

Deno.test("reduce_rows: argmax takes the first of tied maxima", async () => {
  const gpu = await testGpu();
  let seed = 200;
  for (const [n, c] of [[50, 7], [20, 64], [10, 257], [4, 1000]]) {
    const xv = tiedValues(new Rng(seed), n * c);
    // The last row is constant: its argmax must be 0.
    xv.fill(1, (n - 1) * c);
    checkAll(`reduce_rows ties n=${n} c=${c} seed=${seed++}`, xv, n, c, await reduceAll(gpu, xv, n, c));
  }
});

Deno.test("reduce_rows: reducing along the wrong axis is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const xv = randn(new Rng(7), 9, 9);
  const got = await reduceAll(gpu, xv, 9, 9);
  const colSums = Float64Array.from(
    { length: 9 },
    (_, j) => xv.reduce((a, v, e) => e % 9 === j ? a + v : a, 0),
  );
  assert.throws(() => assertClose("wrong axis", got.sum, colSums, reduceRowsTolerance(9), maxAbs(xv)));
});

Deno.test("reduce_rows: rows over the binding limit are split, grids over the dimension limit fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 16, maxBindingBytes: 16384 });
  try {
    const [n, c] = [300, 33]; // 39.6 KB over 16 KiB bindings: several chunks, each a folded grid
    const xv = tiedValues(new Rng(11), n * c);
    const x = tensor(gpu, xv, [n, c]);
    const [sum, sq] = [empty(gpu, [n]), empty(gpu, [n])];
    const best = { max: empty(gpu, [n]), argmax: empty(gpu, [n], "u32") };
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      encodeRowSum(s, x, sum);
      encodeSqNorms(s, x, sq);
      encodeRowMaxArgmax(s, x, best);
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 3, `expected several chunks per reduction, got ${dispatches} dispatches`);
    const got = {
      sum: await sum.read(),
      sq: await sq.read(),
      max: [...await best.max.read()],
      argmax: [...await best.argmax.read()],
    };
    checkAll("reduce_rows split", xv, n, c, got);
  } finally {
    gpu.destroy();
  }
});

Deno.test("reduce_rows: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [3, 4]);
  const rejects = (record: Parameters<typeof run>[2], pattern: RegExp) =>
    assert.rejects(
      () => run(gpu, "t", record),
      (e: unknown) => e instanceof ShapeError && pattern.test(e.message),
    );
  await rejects((s) => encodeRowSum(s, x, empty(gpu, [4])), /^reduce_rows\.sum: out .*\(3\), got \(4\)/);
  await rejects(
    (s) => void sqNorms(s, empty(gpu, [12])),
    /^reduce_rows\.sq_norm: x must be 2-D, got shape \(12\)/,
  );
  await rejects(
    (s) => encodeRowMaxArgmax(s, x, { max: empty(gpu, [3]), argmax: empty(gpu, [3, 1], "u32") }),
    /^reduce_rows\.max_argmax: argmax .*\(3\), got \(3, 1\)/,
  );
  await rejects(
    (s) => encodeRowMaxArgmax(s, x, { max: empty(gpu, [3]), argmax: empty(gpu, [3]) as never }),
    /^reduce_rows\.max_argmax: argmax must be u32, got f32/,
  );
  await rejects(
    (s) => void rowMaxArgmax(s, empty(gpu, [3, 0])),
    /^reduce_rows\.max_argmax: .*\(3, 0\) are empty/,
  );
  x.dispose();
});
