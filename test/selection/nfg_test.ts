import assert from "node:assert/strict";
import { gaussianBlobs } from "../../src/data/generate.ts";
import { CancelledError, InvalidInputError, ShapeError } from "../../src/errors.ts";
import type { Gpu } from "../../src/gpu/device.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { classIndices, validateSubset } from "../../src/selection/budget.ts";
import {
  classRanks,
  cosineThreshold,
  nfgCounts,
  nfgCountsCpu,
  nfgQuotas,
  NfgRanking,
  nfgSelect,
  NfgStrategy,
  roundHalfEven,
} from "../../src/selection/nfg.ts";
import type { GradientSource, SelectionContext } from "../../src/selection/types.ts";
import { Rng, testGpu } from "../ref.ts";

const C = 5; // classes, and entries of e
const D = 24; // entries of h
/** Class sizes: class 3 is empty, class 4 a singleton, the others above one workgroup tile. */
const SIZES = [40, 90, 150, 0, 1];
/**
 * Half the smallest gap a test threshold keeps from every float64 cosine. The GPU's cosines are f32 with
 * error ≤ factorGramTolerance(5, 24) ≈ 1.6e-5 (pairwise on dense g: ≈ 3.3e-5), so a threshold this far from
 * every cosine gives the exact float64 count, yet sits among thousands of cosines (near-ties).
 */
const MARGIN = 1e-4;

/** Data for one checkpoint: e = softmax(z) − onehot(y), h = one of 3 sub-centres per class + noise. */
function makeData(seed: number) {
  const rng = new Rng(seed);
  const labels = rng.shuffle(Uint32Array.from(SIZES.flatMap((s, c) => Array<number>(s).fill(c))));
  const n = labels.length;
  const centers = rng.normals(C * 3 * D);
  const e = new Float32Array(n * C);
  const h = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: C }, () => rng.normal());
    const zs = z.reduce((s, v) => s + Math.exp(v), 0);
    for (let c = 0; c < C; c++) e[i * C + c] = Math.exp(z[c]) / zs - (c === labels[i] ? 1 : 0);
    const k = labels[i] * 3 + rng.int(3);
    for (let t = 0; t < D; t++) h[i * D + t] = centers[k * D + t] + 0.25 * rng.normal();
  }
  // Exact duplicates within classes 1 and 2: equal counts, so rank ties are exercised.
  for (const c of [1, 2]) {
    const [a, b] = [labels.indexOf(c), labels.indexOf(c, labels.indexOf(c) + 1)];
    e.copyWithin(b * C, a * C, a * C + C);
    h.copyWithin(b * D, a * D, a * D + D);
  }
  // A zero gradient (a dead embedding): cosine 0 with everyone, by convention, and with itself — so only
  // the diagonal exclusion keeps it from counting itself at r < 1.
  const dead = labels.lastIndexOf(2);
  h.fill(0, dead * D, dead * D + D);
  return { labels, e, h, n };
}

/** Materialised gᵢ = eᵢ ⊗ hᵢ, (n, C·D), float64. */
function materialise(e: Float32Array, h: Float32Array, n: number): Float64Array {
  const g = new Float64Array(n * C * D);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < D; t++) g[(i * C + c) * D + t] = e[i * C + c] * h[i * D + t];
    }
  }
  return g;
}

/** Float64 cosines of every same-class pair i ≠ j, from materialised gradients: [i, j, cos][]. */
function pairCosines(g: Float64Array, labels: Uint32Array, numClasses: number): [number, number, number][] {
  const w = C * D;
  const norm = (i: number) => Math.sqrt(g.subarray(i * w, (i + 1) * w).reduce((s, v) => s + v * v, 0));
  const out: [number, number, number][] = [];
  for (const members of classIndices(labels, numClasses)) {
    for (const i of members) {
      for (const j of members) {
        if (i === j) continue;
        let s = 0;
        for (let t = 0; t < w; t++) s += g[i * w + t] * g[j * w + t];
        const den = norm(i) * norm(j);
        out.push([i, j, den > 0 ? s / den : 0]);
      }
    }
  }
  return out;
}

/** Brute force: #{ j ≠ i, same class : max(0, 1 − cos) < r }. */
function bruteCounts(pairs: [number, number, number][], n: number, r: number): Uint32Array {
  const counts = new Uint32Array(n);
  for (const [i, , cos] of pairs) if (Math.max(0, 1 - cos) < r) counts[i]++;
  return counts;
}

/**
 * A radius whose threshold 1 − r lies mid-way in a gap of ≥ 2·MARGIN between sorted cosines, the gap
 * nearest to quantile q: the count is then decided by cosines only MARGIN away (a near-tie).
 */
function nearTieRadius(pairs: [number, number, number][], q: number): number {
  const cos = pairs.map((p) => p[2]).sort((a, b) => a - b);
  const at = Math.floor(q * (cos.length - 1));
  for (let off = 0; off < cos.length; off++) {
    for (const k of [at + off, at - off]) {
      if (k >= 0 && k + 1 < cos.length && cos[k + 1] - cos[k] >= 2 * MARGIN) {
        return 1 - (cos[k] + cos[k + 1]) / 2;
      }
    }
  }
  throw new Error("no gap");
}

function minDistance(pairs: [number, number, number][], t: number): number {
  return pairs.reduce((m, p) => Math.min(m, Math.abs(p[2] - t)), Infinity);
}

function factored(gpu: Gpu, e: Float32Array, h: Float32Array, n: number): GradientSource {
  return { kind: "factored", e: tensor(gpu, e, [n, C]), h: tensor(gpu, h, [n, D]), bias: true };
}

function dispose(s: GradientSource): void {
  if (s.kind === "factored") [s.e, s.h].forEach((t) => t.dispose());
  else s.g.dispose();
}

Deno.test("nfgCounts matches a brute-force float64 count at near-tie radii, factored, dense and in blocks", async () => {
  const gpu = await testGpu();
  // Seed 23: of the first 30 seeds, the one whose data keeps every cosine ≥ MARGIN away from 0.8, so the
  // default r = 0.2 can be compared exactly too (asserted below, not hoped; 25% of the pairs are neighbours).
  const { labels, e, h, n } = makeData(23);
  const g = materialise(e, h, n);
  const pairs = pairCosines(g, labels, SIZES.length);
  assert.ok(minDistance(pairs, 0.8) >= MARGIN, `a cosine within ${MARGIN} of 0.8`);
  const radii = [0.2, ...[0.1, 0.5, 0.9].map((q) => nearTieRadius(pairs, q))];
  for (const r of radii) {
    assert.ok(minDistance(pairs, 1 - r) < 3 * MARGIN || r === 0.2, `r=${r} is no near-tie`);
  }
  const src = factored(gpu, e, h, n);
  const dense: GradientSource = { kind: "dense", g: tensor(gpu, Float32Array.from(g), [n, C * D]) };
  for (const r of radii) {
    const want = bruteCounts(pairs, n, r);
    assert.ok(
      want.some((v) => v > 0) && want.some((v, i) => v + 1 < SIZES[labels[i]]),
      `trivial counts at r=${r}`,
    );
    const opts = { numClasses: SIZES.length, radius: r };
    assert.deepEqual(await nfgCounts(src, labels, opts), want, `factored r=${r}`);
    assert.deepEqual(await nfgCounts(dense, labels, opts), want, `dense r=${r}`);
    // 7 columns per block for the class of 150: 22 blocks, the last one short.
    assert.deepEqual(
      await nfgCounts(src, labels, { ...opts, blockBytes: 4 * 150 * 7 }),
      want,
      `blocks r=${r}`,
    );
    assert.deepEqual(
      nfgCountsCpu({ kind: "factored", e, h, c: C, d: D }, labels, SIZES.length, r),
      want,
      `cpu r=${r}`,
    );
  }
  dispose(src);
  dispose(dense);
});

Deno.test("cosineThreshold is the smallest f32 above 1 − r", () => {
  for (const r of [0.2, 0.5, 1e-3, 0.75, 1.3, 2]) {
    const u = cosineThreshold(r);
    assert.equal(Math.fround(u), u);
    assert.ok(u > 1 - r, `r=${r}`);
    const below = new Float32Array([u]);
    new Int32Array(below.buffer)[0] += u > 0 ? -1 : 1;
    assert.ok(below[0] <= 1 - r, `r=${r}: ${below[0]} is also above`);
  }
  assert.equal(cosineThreshold(1), 2 ** -126, "cos = 0 is not a neighbour at r = 1 (no subnormal threshold)");
});

/** Brute-force rank: #{ j in class : count_j > count_i, or equal and j < i }. */
function bruteRank(counts: ArrayLike<number>, members: Uint32Array, i: number): number {
  return members.filter((j) => counts[j] > counts[i] || (counts[j] === counts[i] && j < i)).length;
}

Deno.test("ranks, rank sums and the subset match brute force (ties to the lower index)", () => {
  const rng = new Rng(7);
  const n = 60;
  const labels = Uint32Array.from({ length: n }, () => rng.int(3));
  const classes = classIndices(labels, 4); // class 3 empty
  const ranking = new NfgRanking(classes, n);
  const sums = new Float64Array(n);
  for (let t = 0; t < 3; t++) {
    const counts = Uint32Array.from({ length: n }, () => rng.int(4)); // many ties
    for (const members of classes) {
      const ranks = classRanks(counts, members);
      members.forEach((i, pos) => {
        assert.equal(ranks[pos], bruteRank(counts, members, i), `checkpoint ${t} row ${i}`);
        sums[i] += ranks[pos];
      });
    }
    ranking.add(counts);
  }
  assert.deepEqual(ranking.rankSums, sums);
  for (const k of [1, 4, 17, 30, n]) {
    const quotas = nfgQuotas(classes.map((m) => m.length), k);
    const want = classes.flatMap((members, c) =>
      [...members].filter((i) => bruteRank(Array.from(sums, (s) => -s), members, i) < quotas[c])
    ).sort((a, b) => a - b);
    const s = ranking.subset(k);
    validateSubset(s, n, k);
    assert.deepEqual([...s.indices], want, `k=${k}`);
    assert.ok(s.weights.every((w) => w === 1));
  }
  assert.throws(() => ranking.add(new Uint32Array(3)), ShapeError);
});

Deno.test("quotas: Python's round (half to even, ≥ 1), then exactly k", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4999, -0.5].map(roundHalfEven), [0, 2, 2, 4, 2, 0]);
  // Cases where Python's [max(1, round(k/n · n_c))] already sums to k: the same quotas.
  assert.deepEqual(nfgQuotas([10, 30], 10), [2, 8]);
  assert.deepEqual(nfgQuotas([7, 13, 20], 9), [2, 3, 4]);
  assert.deepEqual(nfgQuotas([100, 101, 99], 30), [10, 10, 10]);
  // Python gives [1, 2, 4, 1] (8): the class furthest above its share (1.75 → 2) gives one back.
  assert.deepEqual(nfgQuotas([3, 5, 11, 1], 7), [1, 1, 4, 1]);
  // Python gives [2, 2, 2, 2] (8): two more, ties to the lower classes.
  assert.deepEqual(nfgQuotas([6, 6, 6, 6], 10), [3, 3, 2, 2]);
  assert.deepEqual(nfgQuotas([10, 10, 10], 1), [1, 0, 0]);
  assert.deepEqual(nfgQuotas([10, 10, 10], 2), [1, 1, 0]);
  assert.deepEqual(nfgQuotas([5, 0, 7], 12), [5, 0, 7]);
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const sizes = Array.from({ length: 1 + rng.int(6) }, () => (rng.int(4) === 0 ? 0 : 1 + rng.int(15)));
    const n = sizes.reduce((a, b) => a + b, 0);
    const nonEmpty = sizes.filter((s) => s > 0).length;
    for (let k = 1; k <= n; k++) {
      const q = nfgQuotas(sizes, k);
      assert.equal(q.reduce((a, b) => a + b, 0), k, `sizes ${sizes} k=${k}`);
      q.forEach((v, c) => assert.ok(v >= 0 && v <= sizes[c] && (k < nonEmpty || sizes[c] === 0 || v >= 1)));
    }
  }
  for (const k of [0, 2.5, 41]) assert.throws(() => nfgQuotas([10, 30], k), InvalidInputError);
});

function context(
  gpu: Gpu,
  features: GradientSource,
  labels: Uint32Array | null,
  budget: number,
): SelectionContext {
  return { gpu, features, labels, numClasses: SIZES.length, budget, rng: new Rng(0) };
}

Deno.test("NfgStrategy: exact budgets, valid subsets, agrees with the CPU twin over two checkpoints", async () => {
  const gpu = await testGpu();
  const a = makeData(2);
  const b = makeData(2); // same labels and classes, new features
  const rng = new Rng(9);
  b.e.set(rng.normals(b.e.length));
  const sources = [factored(gpu, a.e, a.h, a.n), factored(gpu, b.e, b.h, b.n)];
  const cpu = new NfgRanking(classIndices(a.labels, SIZES.length), a.n);
  for (const x of [a, b]) {
    cpu.add(nfgCountsCpu({ kind: "factored", e: x.e, h: x.h, c: C, d: D }, a.labels, SIZES.length));
  }
  const notes: string[] = [];
  const strategy = new NfgStrategy({ checkpoints: sources });
  for (const k of [1, Math.round(0.1 * a.n), Math.round(0.37 * a.n), a.n]) {
    const ctx = {
      ...context(gpu, sources[0], a.labels, k),
      progress: (_d: number, _t: number, note?: string) => notes.push(note!),
    };
    const s = await strategy.select(ctx);
    validateSubset(s, a.n, k);
    assert.deepEqual(s, cpu.subset(k), `k=${k}`);
  }
  assert.equal(notes.length, 4 * 2 * SIZES.length, "one progress report per class and checkpoint");
  assert.match(notes.at(-1)!, /checkpoint 2\/2: class 4/);
  sources.forEach(dispose);
});

Deno.test("NfgStrategy: typed errors for missing labels, bad budgets, NaN or huge features, wrong rows; cancels", async () => {
  const gpu = await testGpu();
  const { labels, e, h, n } = makeData(3);
  const ok = factored(gpu, e, h, n);
  const strategy = new NfgStrategy();
  await assert.rejects(() => strategy.select(context(gpu, ok, null, 5)), InvalidInputError);
  for (const k of [0, n + 1]) {
    await assert.rejects(() => strategy.select(context(gpu, ok, labels, k)), InvalidInputError);
  }
  for (const [which, v] of [["h", NaN], ["e", -Infinity], ["h", 1e7]] as const) {
    const [e2, h2] = [e.slice(), h.slice()];
    (which === "e" ? e2 : h2)[17 * (which === "e" ? C : D) + 2] = v;
    const bad = factored(gpu, e2, h2, n);
    await assert.rejects(
      () => strategy.select(context(gpu, bad, labels, 5)),
      (err: unknown) => err instanceof InvalidInputError && /row 17/.test(err.message),
      `${which} = ${v}`,
    );
    dispose(bad);
  }
  await assert.rejects(() => strategy.select(context(gpu, ok, labels.subarray(1), 5)), ShapeError);
  assert.throws(() => new NfgStrategy({ radius: 0 }), InvalidInputError);
  const ctl = new AbortController();
  ctl.abort("test");
  await assert.rejects(
    () => strategy.select({ ...context(gpu, ok, labels, 5), signal: ctl.signal }),
    CancelledError,
  );
  dispose(ok);
});

Deno.test("nfgSelect on Gaussian blobs: 2 warm-up epochs, exact per-class quotas, deterministic per seed", async () => {
  const gpu = await testGpu();
  const data = gaussianBlobs({ n: 240, d: 8, classes: 3, seed: 4, spread: 2 });
  const run = (seed: number) => {
    let last = [0, 0];
    return nfgSelect(gpu, {
      model: { kind: "mlp", inputShape: [8], numClasses: 3, hidden: [16], seed },
      train: data,
      budget: 30,
      config: { warmEpochs: 2 },
      progress: (done, total) => (last = [done, total]),
    }).then((r) => ({ ...r, last }));
  };
  const a = await run(5);
  const b = await run(5);
  validateSubset(a.subset, 240, 30);
  assert.equal(a.warmup.length, 2);
  assert.equal(a.counts.length, 2);
  assert.deepEqual(a.last, [8, 8], "progress ends at its total");
  const perClass = [0, 0, 0];
  a.subset.indices.forEach((i) => perClass[data.labels[i]]++);
  assert.deepEqual(perClass, [10, 10, 10]);
  assert.deepEqual(b.subset, a.subset, "same seed, same subset");
  assert.deepEqual(b.counts, a.counts);
  assert.ok(a.counts[1].some((v) => v > 0), "neighbours exist after warm-up");
  const c = await run(6);
  assert.notDeepEqual(c.rankSums, a.rankSums, "another seed ranks differently");
  const ctl = new AbortController();
  await assert.rejects(
    () =>
      nfgSelect(gpu, {
        model: { kind: "mlp", inputShape: [8], numClasses: 3, hidden: [16], seed: 1 },
        train: data,
        budget: 30,
        config: { warmEpochs: 2 },
        signal: ctl.signal,
        progress: (done) => done === 2 && ctl.abort("test"), // after class 0 of checkpoint 1
      }),
    CancelledError,
  );
});
