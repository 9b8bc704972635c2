import assert from "node:assert/strict";
import { apportion, finishSubset, resolveBudget, validateSubset } from "../../src/selection/budget.ts";
import { createStrategy, parseStrategy } from "../../src/selection/mod.ts";
import type { GradientSource, SelectionContext } from "../../src/selection/types.ts";
import { GradMatchStrategy } from "../../src/selection/grad_match.ts";
import { matchingObjective, readFeatures } from "../../src/selection/features.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { Rng, testGpu } from "../ref.ts";

const [N, C, D] = [180, 4, 12];

/** Factored features of a pretend classifier: classes 0..2 populated, class 3 empty. */
async function data(seed: number) {
  const gpu = await testGpu();
  const rng = new Rng(seed);
  const labels = Uint32Array.from({ length: N }, () => rng.int(3));
  const e = new Float32Array(N * C);
  for (let i = 0; i < N; i++) {
    for (let a = 0; a < C; a++) e[i * C + a] = rng.next() * 0.2 - (a === labels[i] ? 0.5 : 0);
  }
  const h = Float32Array.from(rng.normals(N * D), Math.abs);
  const features: GradientSource = {
    kind: "factored",
    e: tensor(gpu, e, [N, C]),
    h: tensor(gpu, h, [N, D]),
    bias: true,
  };
  const ctx = (budget: number, s = 1): SelectionContext => ({
    gpu,
    features,
    labels,
    numClasses: C,
    budget,
    rng: new Rng(s),
  });
  const dispose = () => [features.e, features.h].forEach((t) => t.dispose());
  return { gpu, labels, features, ctx, dispose };
}

Deno.test("budgets: fractions, counts, percentages; bad budgets are typed errors", () => {
  assert.equal(resolveBudget(0.1, 1000), 100);
  assert.equal(resolveBudget("0.1", 1000), 100);
  assert.equal(resolveBudget("10%", 1000), 100);
  assert.equal(resolveBudget(1, 1000), 1);
  assert.equal(resolveBudget("600", 1000), 600);
  assert.equal(resolveBudget(1000, 1000), 1000);
  assert.equal(resolveBudget(0.0001, 1000), 1, "a tiny fraction still selects one sample");
  for (const bad of [0, -1, 1001, 2.5, NaN, "", "abc", "-0.2", Infinity]) {
    assert.throws(() => resolveBudget(bad as number, 1000), InvalidInputError, `budget ${bad}`);
  }
  assert.throws(() => parseStrategy("nope"), /unknown strategy "nope"/);
});

Deno.test("apportion splits exactly, in proportion, never over a class; finishSubset tops up to exactly k", () => {
  assert.deepEqual(apportion(10, [50, 30, 20]), [5, 3, 2]);
  assert.deepEqual(apportion(7, [5, 0, 5]), [4, 0, 3]);
  assert.deepEqual(apportion(3, [1, 1, 100]), [0, 0, 3]);
  assert.deepEqual(apportion(50, [1, 2, 3]), [1, 2, 3]);
  const rng = new Rng(4);
  for (let t = 0; t < 50; t++) {
    const sizes = Array.from({ length: 1 + rng.int(6) }, () => rng.int(40));
    const total = sizes.reduce((a, b) => a + b, 0);
    const k = rng.int(total + 5);
    const parts = apportion(k, sizes);
    assert.equal(parts.reduce((a, b) => a + b, 0), Math.min(k, total));
    parts.forEach((p, i) => assert.ok(p <= sizes[i]));
  }
  const s = finishSubset([5, 3, 5, 9], [1, 2, 0.5, -1], 20, 6, new Rng(1));
  validateSubset(s, 20, 6);
  assert.equal(s.weights[s.indices.indexOf(5)], 1.5, "duplicates are summed");
  assert.ok(!s.indices.includes(9), "non-positive weights are dropped");
});

Deno.test("every one-shot strategy returns a valid subset at budgets 1, fractions and k = n, deterministically", async () => {
  const d = await data(1);
  try {
    const strategies = [
      createStrategy("random"),
      createStrategy("gradmatch"),
      createStrategy("gradmatch", { mode: "whole" }),
      createStrategy("gradmatch", { mode: "per-batch" }),
      createStrategy("craig"),
      createStrategy("nfg"),
    ];
    for (const s of strategies) {
      for (const k of [1, 2, 18, 67, N]) {
        const a = await s.select(d.ctx(k, 7));
        validateSubset(a, N, k);
        const b = await s.select(d.ctx(k, 7));
        assert.deepEqual([a.indices, a.weights], [b.indices, b.weights], `${s.name} k=${k} is deterministic`);
      }
    }
    const full = await createStrategy("full").select(d.ctx(N));
    validateSubset(full, N, N);
  } finally {
    d.dispose();
  }
});

Deno.test("GRAD-MATCH matches the gradient sum better than Random at the same budget", async () => {
  const d = await data(2);
  try {
    const cpu = await readFeatures(d.features);
    const gm = await new GradMatchStrategy({ mode: "whole", lambda: 0 }).select(d.ctx(30));
    const objGm = matchingObjective(cpu, gm.indices, gm.weights);
    let worseRandom = 0;
    for (let s = 0; s < 5; s++) {
      const r = await createStrategy("random").select(d.ctx(30, s));
      // Random with weights n/k is the natural unbiased estimate of the sum.
      const objR = matchingObjective(cpu, r.indices, Float32Array.from(r.weights, () => N / 30));
      if (objR > objGm) worseRandom++;
    }
    assert.equal(worseRandom, 5, `GRAD-MATCH objective ${objGm} should beat every random draw`);
  } finally {
    d.dispose();
  }
});

Deno.test("strategies: mismatched labels, missing labels and NaN features are typed errors", async () => {
  const d = await data(3);
  try {
    const gm = createStrategy("gradmatch");
    await assert.rejects(
      () => gm.select({ ...d.ctx(10), labels: new Uint32Array(N - 1) }),
      InvalidInputError,
    );
    await assert.rejects(() => gm.select({ ...d.ctx(10), labels: null }), /needs labels/);
    await assert.rejects(
      () => createStrategy("craig").select({ ...d.ctx(10), labels: null }),
      InvalidInputError,
    );
    const bad = new Float32Array(N * C);
    bad[7 * C + 1] = NaN;
    const e = tensor(d.gpu, bad, [N, C]);
    const nan: GradientSource = {
      kind: "factored",
      e,
      h: d.features.kind === "factored" ? d.features.h : e,
      bias: true,
    };
    await assert.rejects(() => gm.select({ ...d.ctx(10), features: nan }), /row 7/);
    e.dispose();
    assert.throws(() => createStrategy("crest"), /inside training/);
  } finally {
    d.dispose();
  }
});
