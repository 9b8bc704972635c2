import assert from "node:assert/strict";
import { craigReference, craigSimilarities, CraigStrategy } from "../../src/selection/craig.ts";
import { apportion, classIndices, resolveBudget, validateSubset } from "../../src/selection/budget.ts";
import type { GradientSource, SelectionContext } from "../../src/selection/types.ts";
import { CancelledError, InvalidInputError } from "../../src/errors.ts";
import type { Gpu } from "../../src/gpu/device.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { pairwiseTolerance } from "../../src/gpu/ops/pairwise.ts";
import { assertClose, randn, Rng, testGpu } from "../ref.ts";

/** Softmax-minus-onehot-like rows: C values per sample. */
function fakeErrors(rng: Rng, labels: Uint32Array, c: number): Float32Array {
  const e = new Float32Array(labels.length * c);
  labels.forEach((y, i) => {
    const z = Array.from({ length: c }, () => rng.normal());
    const m = Math.max(...z);
    const s = z.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let j = 0; j < c; j++) e[i * c + j] = Math.exp(z[j] - m) / s - (j === y ? 1 : 0);
  });
  return e;
}

function context(
  gpu: Gpu,
  features: GradientSource,
  labels: Uint32Array | null,
  numClasses: number,
  budget: number,
): SelectionContext {
  return { gpu, features, labels, numClasses, budget, rng: new Rng(1) };
}

Deno.test("CRAIG: valid subsets at budgets 1, fractions and n, with empty classes; per-class counts apportioned", async () => {
  const gpu = await testGpu();
  const rng = new Rng(3);
  const n = 157, c = 6;
  // Classes 2 and 5 are empty; class 4 has a single sample.
  const labels = Uint32Array.from({ length: n }, (_, i) => (i === 100 ? 4 : [0, 1, 3][rng.int(3)]));
  const e = tensor(gpu, fakeErrors(rng, labels, c), [n, c], "e");
  const source: GradientSource = { kind: "dense", g: e };
  const sizes = classIndices(labels, c).map((r) => r.length);
  for (const b of [1, 2, "10%", 0.5, n - 1, n]) {
    const k = resolveBudget(b, n);
    const s = await new CraigStrategy().select(context(gpu, source, labels, c, k));
    validateSubset(s, n, k);
    const perClass = new Array(c).fill(0);
    s.indices.forEach((i) => perClass[labels[i]]++);
    assert.deepEqual(perClass, apportion(k, sizes), `budget ${b}`);
    if (k === n) assert.ok(s.weights.every((w) => w === 1), "k = n: everything, each its own cluster");
    // Weights are cluster sizes: per class they sum to the class size (no duplicate rows here).
    const wsum = new Array(c).fill(0);
    s.indices.forEach((i, t) => wsum[labels[i]] += s.weights[t]);
    sizes.forEach((m, cls) => perClass[cls] > 0 && assert.equal(wsum[cls], m, `budget ${b}, class ${cls}`));
  }
  e.dispose();
});

Deno.test("CRAIG: per-class similarity from the GPU matches float64; picks match the CPU twin", async () => {
  const gpu = await testGpu();
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const n = 120 + 37 * seed, c = 4;
    const labels = Uint32Array.from({ length: n }, () => rng.int(c));
    const data = fakeErrors(rng, labels, c);
    const x = tensor(gpu, data, [n, c], "e");
    const classes = classIndices(labels, c);
    for await (const { block, sim } of craigSimilarities(x, classes, { readbackBytes: 20_000 })) {
      const rows = classes[block];
      const m = rows.length;
      const dist = new Float64Array(m * m);
      rows.forEach((ri, i) =>
        rows.forEach((rj, j) => {
          for (let t = 0; t < c; t++) dist[i * m + j] += (data[ri * c + t] - data[rj * c + t]) ** 2;
        })
      );
      const max = Math.max(...dist);
      const tol = pairwiseTolerance(c);
      assertClose(`seed ${seed}, class ${block}`, sim, dist.map((v) => max - v), tol, max);
    }
    for (const budget of [1, 9, 40, n]) {
      const gpuPick = await new CraigStrategy().select(
        context(gpu, { kind: "dense", g: x }, labels, c, budget),
      );
      const cpuPick = craigReference(data, labels, { d: c, numClasses: c, budget });
      assert.deepEqual([...gpuPick.indices], [...cpuPick.indices], `seed ${seed}, budget ${budget}`);
      assert.deepEqual([...gpuPick.weights], [...cpuPick.weights], `seed ${seed}, budget ${budget}`);
      const plain = await new CraigStrategy({ lazy: false }).select(
        context(gpu, { kind: "dense", g: x }, labels, c, budget),
      );
      assert.deepEqual(plain, gpuPick, "plain greedy agrees");
    }
    x.dispose();
  }
});

Deno.test("CRAIG: rows stay aligned with dataset indices; factored sources use e only", async () => {
  const gpu = await testGpu();
  // Class 1 holds points at 0, 1 and 10 (rows 1, 3, 4); the 1-median is the point at 1, row 3.
  const labels = Uint32Array.from([0, 1, 0, 1, 1, 0]);
  const g = Float32Array.from([5, 0, 6, 1, 10, 7]);
  const dense = tensor(gpu, g, [6, 1], "g");
  const s = await new CraigStrategy().select(context(gpu, { kind: "dense", g: dense }, labels, 2, 2));
  assert.deepEqual([...s.indices], [2, 3], "class 0 → the middle point (row 2), class 1 → row 3");
  assert.deepEqual([...s.weights], [3, 3]);
  // Class 0 = {5, 0, 6, 1, 10}: Σⱼ Dᵢⱼ is smallest at 5 (row 0); class 1 (n_c = 1) gets a budget of 0.
  const one = await new CraigStrategy().select(
    context(gpu, { kind: "dense", g: dense }, Uint32Array.from([0, 0, 0, 0, 0, 1]), 2, 1),
  );
  assert.deepEqual([...one.indices], [0]);
  assert.deepEqual([...one.weights], [5]);
  // Factored: e drives the choice, h is ignored.
  const rng = new Rng(8);
  const labels2 = Uint32Array.from({ length: 80 }, () => rng.int(3));
  const e = tensor(gpu, fakeErrors(rng, labels2, 3), [80, 3], "e");
  const h = tensor(gpu, randn(rng, 80, 5), [80, 5], "h");
  const viaFactored = await new CraigStrategy().select(
    context(gpu, { kind: "factored", e, h, bias: true }, labels2, 3, 20),
  );
  const viaDense = await new CraigStrategy().select(context(gpu, { kind: "dense", g: e }, labels2, 3, 20));
  assert.deepEqual(viaFactored, viaDense);
  [dense, e, h].forEach((t) => t.dispose());
});

Deno.test("CRAIG: typed errors without labels, progress per class, abort between classes, deterministic", async () => {
  const gpu = await testGpu();
  const rng = new Rng(4);
  const labels = Uint32Array.from({ length: 60 }, () => rng.int(3));
  const x = tensor(gpu, fakeErrors(rng, labels, 3), [60, 3], "e");
  const source: GradientSource = { kind: "dense", g: x };
  const craig = new CraigStrategy();
  await assert.rejects(() => craig.select(context(gpu, source, null, 3, 5)), InvalidInputError);
  await assert.rejects(() => craig.select(context(gpu, source, labels.subarray(1), 3, 5)), InvalidInputError);
  await assert.rejects(() => craig.select(context(gpu, source, labels, 3, 61)), InvalidInputError);
  await assert.rejects(() => craig.select(context(gpu, source, labels, 2, 5)), InvalidInputError);
  const seen: [number, number][] = [];
  const ctx = {
    ...context(gpu, source, labels, 3, 12),
    progress: (d: number, t: number) => seen.push([d, t]),
  };
  const a = await craig.select(ctx);
  assert.deepEqual(seen, [[1, 3], [2, 3], [3, 3]]);
  assert.deepEqual(await craig.select(context(gpu, source, labels, 3, 12)), a, "same input, same subset");
  const ctl = new AbortController();
  const aborting = { ...ctx, signal: ctl.signal, progress: () => ctl.abort("test") };
  // Small read-backs make each class its own GPU group, so the abort lands between classes.
  await assert.rejects(() => new CraigStrategy({ readbackBytes: 64 }).select(aborting), CancelledError);
  x.dispose();
});
