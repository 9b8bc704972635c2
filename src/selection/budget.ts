/**
 * Budgets and subsets: resolving "0.1" or "600" into a count, splitting a budget over classes, and
 * finishing a strategy's raw picks into a valid subset (zeros dropped, random top-up, sorted).
 */
import { InvalidInputError } from "../errors.ts";
import type { Rng } from "../util/rng.ts";
import type { Subset } from "./types.ts";

/**
 * Resolves a budget: a number in (0, 1) (or "10%") is a fraction of `n` (rounded, at least 1); an integer
 * ≥ 1 is a count (1 means one sample, not 100%: write a count of n for everything). Anything else, or a count
 * over n, is an `InvalidInputError`.
 */
export function resolveBudget(budget: number | string, n: number): number {
  let b = budget as number;
  if (typeof budget === "string") {
    const t = budget.trim();
    b = t === "" ? NaN : t.endsWith("%") ? Number(t.slice(0, -1)) / 100 : Number(t);
  }
  if (!Number.isFinite(b) || b <= 0) {
    throw new InvalidInputError(`budget ${budget} must be a fraction in (0, 1) or a count in [1, ${n}]`);
  }
  if (b < 1) return Math.max(1, Math.round(b * n));
  if (!Number.isInteger(b)) throw new InvalidInputError(`budget ${budget}: a count must be an integer`);
  if (b > n) throw new InvalidInputError(`budget ${budget} exceeds the ${n} samples available`);
  return b;
}

/** Row indices of each class (labels must be < numClasses). */
export function classIndices(labels: Uint32Array, numClasses: number): Uint32Array[] {
  const counts = new Uint32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new InvalidInputError(`label ${labels[i]} at row ${i} is not below the ${numClasses} classes`);
    }
    counts[labels[i]]++;
  }
  const out = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}

/**
 * Splits `k` over groups of the given sizes in proportion to size (largest remainder: floors, then the
 * largest fractional parts get one more; ties to the lower group), never more than a group holds.
 * Sums to exactly min(k, Σ sizes).
 */
export function apportion(k: number, sizes: readonly number[]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const want = Math.min(k, total);
  if (total === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (want * s) / total);
  const out = exact.map((x, i) => Math.min(sizes[i], Math.floor(x)));
  let left = want - out.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, i) => i).sort((a, b) =>
    (exact[b] - Math.floor(exact[b])) - (exact[a] - Math.floor(exact[a])) || a - b
  );
  while (left > 0) {
    let moved = false;
    for (const i of order) {
      if (left === 0) break;
      if (out[i] < sizes[i]) {
        out[i]++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return out;
}

/**
 * Turns raw picks (possibly with zero or duplicate entries) into a valid subset of exactly `k` of `n`:
 * non-positive and non-finite weights are dropped, duplicates summed, and if fewer than k remain,
 * random unchosen samples are added with weight 1 (seeded by `rng`). Indices come out sorted.
 */
export function finishSubset(
  indices: ArrayLike<number>,
  weights: ArrayLike<number>,
  n: number,
  k: number,
  rng: Rng,
): Subset {
  const chosen = new Map<number, number>();
  for (let i = 0; i < indices.length; i++) {
    const w = weights[i];
    if (!(w > 0) || !Number.isFinite(w)) continue;
    chosen.set(indices[i], (chosen.get(indices[i]) ?? 0) + w);
  }
  if (chosen.size > k) {
    // Keep the k heaviest (ties to the lower index) — strategies should not over-select, but be safe.
    const keep = [...chosen.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
    chosen.clear();
    for (const [i, w] of keep) chosen.set(i, w);
  }
  if (chosen.size < k) {
    const rest = new Uint32Array(n - chosen.size);
    let r = 0;
    for (let i = 0; i < n; i++) if (!chosen.has(i)) rest[r++] = i;
    rng.shuffle(rest);
    for (let i = 0; chosen.size < k; i++) chosen.set(rest[i], 1);
  }
  const idx = Uint32Array.from(chosen.keys()).sort();
  return { indices: idx, weights: Float32Array.from(idx, (i) => chosen.get(i)!) };
}

/** Throws unless `s` is a valid subset of exactly `k` of `n` (for tests and defensive checks). */
export function validateSubset(s: Subset, n: number, k: number): void {
  if (s.indices.length !== k || s.weights.length !== k) {
    throw new Error(`subset has ${s.indices.length} indices / ${s.weights.length} weights, expected ${k}`);
  }
  for (let i = 0; i < k; i++) {
    if (s.indices[i] >= n) throw new Error(`index ${s.indices[i]} out of range ${n}`);
    if (i > 0 && s.indices[i] <= s.indices[i - 1]) throw new Error(`indices not sorted unique at ${i}`);
    if (!(s.weights[i] > 0) || !Number.isFinite(s.weights[i])) {
      throw new Error(`weight ${s.weights[i]} at ${i}`);
    }
  }
}
