import assert from "node:assert/strict";
import {
  facilityValue,
  maximizeFacilityLocation,
  pairwiseBlocks,
} from "../../src/selection/facility_location.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { assertClose, randn, Rng, testGpu } from "../ref.ts";

/** A random n × n similarity matrix; `levels` > 0 draws from {0, …, levels − 1} (many ties). */
function randomSim(rng: Rng, n: number, levels: number, symmetric: boolean): Float32Array {
  const s = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = symmetric ? i : 0; j < n; j++) {
      const v = levels > 0 ? rng.int(levels) : rng.next();
      s[i * n + j] = v;
      if (symmetric) s[j * n + i] = v;
    }
  }
  return s;
}

/** Plain greedy written from the definition: every round, the argmax of F(S ∪ {j}) − F(S), lowest j on ties. */
function bruteGreedy(s: Float32Array, n: number, k: number): number[] {
  const picks: number[] = [];
  for (let t = 0; t < k; t++) {
    const base = facilityValue(s, { n, picks });
    let best = -1, bestGain = -Infinity;
    for (let j = 0; j < n; j++) {
      if (picks.includes(j)) continue;
      const g = facilityValue(s, { n, picks: [...picks, j] }) - base;
      if (g > bestGain + 1e-12) [best, bestGain] = [j, g];
    }
    picks.push(best);
  }
  return picks;
}

/** Cluster sizes from the definition: each row goes to its most similar pick, earliest on ties. */
function bruteWeights(s: Float32Array, n: number, picks: ArrayLike<number>): number[] {
  const w = new Array(picks.length).fill(0);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let t = 1; t < picks.length; t++) if (s[i * n + picks[t]] > s[i * n + picks[b]]) b = t;
    if (picks.length > 0) w[b]++;
  }
  return w;
}

Deno.test("facility location: lazy greedy makes exactly plain greedy's picks, ties included (300 matrices, f32 and f64)", () => {
  for (let seed = 0; seed < 300; seed++) {
    const rng = new Rng(seed);
    const n = 1 + rng.int(40);
    const k = rng.int(n + 1);
    const levels = [0, 2, 3, 5][seed % 4];
    const symmetric = seed % 3 !== 0;
    // Float32 matrices take the SIMD gains, float64 ones the plain loop: both must hold.
    const s32 = randomSim(rng, n, levels, symmetric);
    const s = seed % 2 ? Float64Array.from(s32) : s32;
    const opts = { n, k, symmetric };
    const plain = maximizeFacilityLocation(s, { ...opts, lazy: false });
    const lazy = maximizeFacilityLocation(s, { ...opts, lazy: true });
    const what = `seed ${seed}, n ${n}, k ${k}, levels ${levels}`;
    assert.deepEqual([...lazy.picks], [...plain.picks], what);
    assert.deepEqual([...lazy.gains], [...plain.gains], what);
    assert.deepEqual([...lazy.weights], [...plain.weights], what);
    assert.equal(lazy.value, plain.value, what);
    assert.equal(new Set(lazy.picks).size, k, `${what}: picks are distinct`);
    if (k > 0) assert.equal(lazy.weights.reduce((a, b) => a + b, 0), n, `${what}: Σ weights = n`);
  }
});

Deno.test("facility location: picks, gains, weights and F(S) agree with brute force from the definition", () => {
  for (let seed = 0; seed < 60; seed++) {
    const rng = new Rng(1000 + seed);
    const n = 2 + rng.int(9);
    const k = 1 + rng.int(n);
    const s = randomSim(rng, n, seed % 2 ? 4 : 0, false);
    const r = maximizeFacilityLocation(s, { n, k });
    const what = `seed ${seed}, n ${n}, k ${k}`;
    assert.deepEqual([...r.picks], bruteGreedy(s, n, k), what);
    assert.deepEqual([...r.weights], bruteWeights(s, n, r.picks), what);
    assertClose(what, [r.value], [facilityValue(s, { n, picks: r.picks })], { atol: 1e-9, rtol: 1e-12 });
    let prefix = 0;
    r.picks.forEach((_, t) => {
      const v = facilityValue(s, { n, picks: r.picks.subarray(0, t + 1) });
      assertClose(`${what}, gain ${t}`, [r.gains[t]], [v - prefix], { atol: 1e-9, rtol: 1e-12 });
      prefix = v;
    });
  }
});

Deno.test("facility location: greedy is within 1 − 1/e of the best k-subset (exhaustive, n = 9)", () => {
  const subsets = (n: number, k: number, from = 0): number[][] =>
    k === 0 ? [[]] : Array.from({ length: n - from }, (_, a) => from + a)
      .flatMap((j) => subsets(n, k - 1, j + 1).map((rest) => [j, ...rest]));
  for (let seed = 0; seed < 10; seed++) {
    const rng = new Rng(77 + seed);
    const n = 9, k = 1 + (seed % 4);
    const s = randomSim(rng, n, 0, true);
    const greedy = maximizeFacilityLocation(s, { n, k, symmetric: true }).value;
    const best = Math.max(...subsets(n, k).map((S) => facilityValue(s, { n, picks: S })));
    assert.ok(
      greedy <= best + 1e-9 && greedy >= (1 - 1 / Math.E) * best,
      `seed ${seed}: ${greedy} vs ${best}`,
    );
  }
});

Deno.test("facility location: a callback matrix, duplicates, k = 0, k = n and bad input", () => {
  const rng = new Rng(5);
  const n = 12;
  const s = randomSim(rng, n, 0, false);
  const viaArray = maximizeFacilityLocation(s, { n, k: 5 });
  const viaCallback = maximizeFacilityLocation((i, j) => s[i * n + j], { n, k: 5 });
  assert.deepEqual(viaCallback, viaArray);
  // All rows identical: every gain after the first is 0, picks go by index and the first owns every row.
  const flat = maximizeFacilityLocation(new Float32Array(16).fill(2), { n: 4, k: 3 });
  assert.deepEqual([...flat.picks], [0, 1, 2]);
  assert.deepEqual([...flat.weights], [4, 0, 0]);
  assert.equal(maximizeFacilityLocation(s, { n, k: 0 }).picks.length, 0);
  const all = maximizeFacilityLocation(s, { n, k: n, lazy: true });
  assert.deepEqual([...all.picks].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(all, maximizeFacilityLocation(s, { n, k: n, lazy: false }));
  assert.throws(() => maximizeFacilityLocation(s, { n, k: n + 1 }), InvalidInputError);
  assert.throws(() => maximizeFacilityLocation(s, { n: n - 1, k: 1 }), InvalidInputError);
});

Deno.test("pairwiseBlocks: grouped and row-split read-backs give every block exactly", async () => {
  const gpu = await testGpu();
  const rng = new Rng(11);
  const n = 90, d = 5;
  const data = randn(rng, n, d);
  const x = tensor(gpu, data, [n, d], "x");
  const sizes = [7, 0, 1, 40, 13, 0];
  const blocks = sizes.map((m) => Uint32Array.from({ length: m }, () => rng.int(n)));
  const ref = blocks.map((b) => {
    const out = new Float64Array(b.length * b.length);
    b.forEach((ri, i) =>
      b.forEach((rj, j) => {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += (data[ri * d + t] - data[rj * d + t]) ** 2;
        out[i * b.length + j] = acc;
      })
    );
    return out;
  });
  // 64 KiB: one group; 600 bytes: the 40-row block is cut into pieces of 3 rows.
  for (const readbackBytes of [64 * 1024, 600]) {
    const seen: number[] = [];
    for await (const { block, matrix } of pairwiseBlocks(x, blocks, { metric: "sqeuclid", readbackBytes })) {
      seen.push(block);
      assertClose(`block ${block} @ ${readbackBytes}`, matrix, ref[block], { atol: 1e-5, rtol: 1e-5 });
    }
    assert.deepEqual(seen, sizes.map((_, i) => i));
  }
  x.dispose();
});
