/**
 * Facility location (Mirzasoleiman, Bilmes & Leskovec, "Coresets for Data-efficient Training of Machine
 * Learning Models", ICML 2020; the same objective CREST maximises per mini-batch coreset):
 *
 *   F(S) = Σᵢ max(0, max_{j∈S} sᵢⱼ)        i over the n rows, j over the n candidates, F(∅) = 0
 *
 * F is monotone submodular for sᵢⱼ ≥ 0 (both CRAIG's max(D) − D and CREST's exp(−‖·‖/C) are), so
 * greedy gets within 1 − 1/e of the best k-subset (Nemhauser et al. 1978). Two maximisers:
 * - plain greedy: every round, the marginal gain Δ(j | S) = Σᵢ max(0, sᵢⱼ − curᵢ) of every candidate;
 *   O(k·n²). Ties go to the lowest index.
 * - lazy greedy (Minoux 1978): a max-heap of stale gains; by submodularity a stale gain bounds the fresh
 *   one from above, so a candidate whose gain is fresh *and* on top wins. Typically O(n²) overall.
 *
 * Lazy == plain, exactly, not just up to rounding: both compute a gain by the same float64 loop
 * (same order over i), and that loop is monotone in cur (fl(a − b) and fl(a + b) are monotone in each
 * argument), so stale floats bound fresh floats too. The heap orders by (gain desc, index asc); a fresh
 * top (g, j) beats every stale (g', j') since g' < g, or g' = g and j' > j — plain greedy's tie rule.
 *
 * Weights: w_j = #{ i : j is i's most similar pick } (ties to the earlier pick), so Σ w = n; a pick can
 * weigh 0 when an earlier pick duplicates it (callers decide what that means).
 *
 * `pairwiseBlocks` (end of file) computes dense similarity blocks on the GPU for many row groups and reads
 * them back grouped — one read-back per ~readbackBytes, not one per block or per greedy round.
 */
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import { Step } from "../gpu/step.ts";
import { empty, type Tensor } from "../gpu/tensor.ts";
import { gatherRows } from "../gpu/ops/gather_rows.ts";
import { encodePairwise, type PairwiseOptions } from "../gpu/ops/pairwise.ts";
import { arenaWith } from "./simd_kernels.ts";

/** Options of `maximizeFacilityLocation`. */
export interface FacilityLocationOptions {
  /** Rows (= candidates): the matrix is n × n. */
  n: number;
  /** Picks to make, 0 ≤ k ≤ n. */
  k: number;
  /** Lazy greedy (default true); plain greedy gives the same picks and exists as the reference. */
  lazy?: boolean;
  /**
   * The matrix is exactly symmetric (default false): column j is then read as row j, contiguous.
   * Otherwise a dense matrix is transposed once (n² more floats) so columns are contiguous.
   */
  symmetric?: boolean;
}

/** A dense row-major matrix s[i·n + j] = sᵢⱼ, or a callback giving sᵢⱼ. */
export type Similarity = Float32Array | Float64Array | ((i: number, j: number) => number);

/** What greedy found. */
export interface FacilityLocationResult {
  /** (k) candidates in the order picked. */
  picks: Uint32Array;
  /** (k) marginal gain of each pick when it was made. */
  gains: Float64Array;
  /** (k) cluster sizes, aligned with `picks`; Σ = n when k ≥ 1. */
  weights: Uint32Array;
  /** F(picks). */
  value: number;
}

/** Column access: column(j)[i] = sᵢⱼ. */
type Columns = (j: number) => ArrayLike<number>;

function columnsOf(sim: Similarity, n: number, symmetric: boolean): Columns {
  if (typeof sim === "function") {
    const col = new Float64Array(n);
    return (j) => {
      for (let i = 0; i < n; i++) col[i] = sim(i, j);
      return col;
    };
  }
  if (sim.length !== n * n) {
    throw new InvalidInputError(
      `facility location: a ${n} × ${n} matrix needs ${n * n} entries, got ${sim.length}`,
    );
  }
  let m = sim;
  if (!symmetric) {
    m = new (sim.constructor as Float32ArrayConstructor)(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[j * n + i] = sim[i * n + j];
  }
  return (j) => m.subarray(j * n, (j + 1) * n);
}

/**
 * Marginal gains Δ(j | S) against a coverage `cur` (updated in place by Coverage), and column access. A
 * float32 matrix goes to WebAssembly SIMD (copied, columns contiguous, into the module's memory; the gain
 * in f64x2 lanes — ~5× the plain loop on the EPYC); other matrices use `gainOf`. Either way both
 * maximisers take every gain from the same function, so lazy == plain still holds exactly: each lane's sum
 * is monotone in cur, and so is their total.
 */
interface Gains {
  cur: Float64Array;
  gain(j: number): number;
  column: Columns;
}

function gainsOf(sim: Similarity, n: number, symmetric: boolean): Gains {
  const got = sim instanceof Float32Array && sim.length === n * n && n > 0
    ? arenaWith([4 * n * n, 8 * n])
    : null;
  if (got && sim instanceof Float32Array) {
    const a = got.arena;
    const [mp, cp] = got.at;
    const m = a.f32;
    const m0 = mp / 4;
    if (symmetric) m.set(sim, m0);
    else for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[m0 + j * n + i] = sim[i * n + j];
    const cur = new Float64Array(a.fn.memory.buffer, cp, n);
    return {
      cur,
      gain: (j) => a.fn.gainFD(mp + 4 * j * n, cp, n),
      column: (j) => m.subarray(m0 + j * n, m0 + (j + 1) * n),
    };
  }
  const column = columnsOf(sim, n, symmetric);
  const cur = new Float64Array(n);
  return { cur, gain: (j) => gainOf(column(j), cur), column };
}

/** Δ(j | S) = Σᵢ max(0, col[i] − cur[i]) in float64, in index order (the plain loop). */
function gainOf(col: ArrayLike<number>, cur: Float64Array): number {
  let g = 0;
  for (let i = 0; i < cur.length; i++) {
    const d = col[i] - cur[i];
    if (d > 0) g += d;
  }
  return g;
}

/** Coverage state: cur (max(0, best)) for gains, best and owner for weights. */
class Coverage {
  readonly cur: Float64Array;
  readonly best: Float64Array;
  readonly owner: Int32Array;
  /** cur: where the coverage lives (zeros, length n; the gains read it). */
  constructor(n: number, cur: Float64Array) {
    this.cur = cur;
    this.best = new Float64Array(n).fill(-Infinity);
    this.owner = new Int32Array(n).fill(-1);
  }

  /** Adds the t-th pick with column col; strict > keeps ties with the earlier pick. */
  add(col: ArrayLike<number>, t: number): void {
    for (let i = 0; i < this.cur.length; i++) {
      const s = col[i];
      if (s > this.best[i]) {
        this.best[i] = s;
        this.owner[i] = t;
      }
      if (s > this.cur[i]) this.cur[i] = s;
    }
  }

  result(picks: Uint32Array, gains: Float64Array): FacilityLocationResult {
    const weights = new Uint32Array(picks.length);
    for (const o of this.owner) if (o >= 0) weights[o]++;
    let value = 0;
    for (const c of this.cur) value += c;
    return { picks, gains, weights, value };
  }
}

/** Maximises F over k-subsets greedily (lazy by default); see the header for the guarantees. */
export function maximizeFacilityLocation(
  sim: Similarity,
  opts: FacilityLocationOptions,
): FacilityLocationResult {
  const { n, k } = opts;
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k) || k < 0 || k > n) {
    throw new InvalidInputError(`facility location: need integers 0 ≤ k ≤ n, got k = ${k}, n = ${n}`);
  }
  const gains = gainsOf(sim, n, opts.symmetric ?? false);
  return (opts.lazy ?? true) ? lazyGreedy(gains, n, k) : plainGreedy(gains, n, k);
}

function plainGreedy(g: Gains, n: number, k: number): FacilityLocationResult {
  const cov = new Coverage(n, g.cur);
  const chosen = new Uint8Array(n);
  const picks = new Uint32Array(k);
  const gains = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    let bestJ = -1;
    let bestG = -Infinity;
    for (let j = 0; j < n; j++) {
      if (chosen[j]) continue;
      const gj = g.gain(j);
      if (gj > bestG) [bestJ, bestG] = [j, gj];
    }
    chosen[bestJ] = 1;
    picks[t] = bestJ;
    gains[t] = bestG;
    cov.add(g.column(bestJ), t);
  }
  return cov.result(picks, gains);
}

function lazyGreedy(g: Gains, n: number, k: number): FacilityLocationResult {
  const cov = new Coverage(n, g.cur);
  const heap = new GainHeap(n);
  for (let j = 0; j < n; j++) heap.push(j, g.gain(j));
  // fresh[j] = the round in which j's heap gain was computed.
  const fresh = new Int32Array(n);
  const picks = new Uint32Array(k);
  const gains = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    while (fresh[heap.top()] !== t) {
      const j = heap.top();
      fresh[j] = t;
      heap.replaceTop(g.gain(j));
    }
    gains[t] = heap.topGain();
    picks[t] = heap.pop();
    cov.add(g.column(picks[t]), t);
  }
  return cov.result(picks, gains);
}

/** A binary max-heap of (gain, index), ordered by gain descending, then index ascending. */
class GainHeap {
  #gain: Float64Array;
  #idx: Int32Array;
  #size = 0;
  constructor(capacity: number) {
    this.#gain = new Float64Array(capacity);
    this.#idx = new Int32Array(capacity);
  }

  #before(a: number, b: number): boolean {
    const ga = this.#gain[a], gb = this.#gain[b];
    return ga > gb || (ga === gb && this.#idx[a] < this.#idx[b]);
  }

  #swap(a: number, b: number): void {
    [this.#gain[a], this.#gain[b]] = [this.#gain[b], this.#gain[a]];
    [this.#idx[a], this.#idx[b]] = [this.#idx[b], this.#idx[a]];
  }

  push(index: number, gain: number): void {
    let i = this.#size++;
    this.#gain[i] = gain;
    this.#idx[i] = index;
    while (i > 0 && this.#before(i, (i - 1) >> 1)) {
      this.#swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  }

  top(): number {
    return this.#idx[0];
  }

  topGain(): number {
    return this.#gain[0];
  }

  /** Gives the top a new gain and restores the order. */
  replaceTop(gain: number): void {
    this.#gain[0] = gain;
    this.#siftDown(0);
  }

  pop(): number {
    const out = this.#idx[0];
    this.#size--;
    this.#gain[0] = this.#gain[this.#size];
    this.#idx[0] = this.#idx[this.#size];
    this.#siftDown(0);
    return out;
  }

  #siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < this.#size && this.#before(l, m)) m = l;
      if (r < this.#size && this.#before(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}

/** F(S) in float64 by definition (for tests and small checks). */
export function facilityValue(sim: Similarity, opts: { n: number; picks: ArrayLike<number> }): number {
  const { n, picks } = opts;
  const at = typeof sim === "function" ? sim : (i: number, j: number) => sim[i * n + j];
  let total = 0;
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let t = 0; t < picks.length; t++) m = Math.max(m, at(i, picks[t]));
    total += m;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// Dense similarity blocks from the GPU

/** Default bytes of one grouped read-back: many small blocks share it, a large one is cut into rows. */
export const DEFAULT_READBACK_BYTES = 64 * 2 ** 20;

/** Options of `pairwiseBlocks`. */
export interface PairwiseBlocksOptions extends PairwiseOptions {
  /** Cap on the bytes of one GPU → CPU read-back (default DEFAULT_READBACK_BYTES). */
  readbackBytes?: number;
  signal?: AbortSignal;
}

/** One row range of one block: rows [r0, r0 + rows) of block b against all of block b. */
interface Piece {
  block: number;
  r0: number;
  rows: number;
}

/** Cuts blocks into pieces of at most `cap` output bytes and groups consecutive pieces under `cap`. */
function planPieces(sizes: readonly number[], cap: number): Piece[][] {
  const groups: Piece[][] = [];
  let group: Piece[] = [];
  let bytes = 0;
  sizes.forEach((m, block) => {
    const perRow = Math.max(4, m * 4);
    const chunk = Math.max(1, Math.floor(cap / perRow));
    for (let r0 = 0; r0 < m; r0 += chunk) {
      const rows = Math.min(chunk, m - r0);
      if (group.length > 0 && bytes + rows * perRow > cap) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push({ block, r0, rows });
      bytes += rows * perRow;
    }
  });
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * For each row set `blocks[b]` (indices into the rows of x (n, d) f32), the dense (m_b, m_b) matrix
 * metric(x[blocks[b][i]], x[blocks[b][j]]) as a row-major Float32Array, yielded in block order. Empty
 * blocks yield an empty matrix. Work is grouped: one GPU step and one read-back per group.
 */
export async function* pairwiseBlocks(
  x: Tensor,
  blocks: readonly Uint32Array[],
  opts: PairwiseBlocksOptions,
): AsyncGenerator<{ block: number; matrix: Float32Array }> {
  const sizes = blocks.map((b) => b.length);
  const out = sizes.map((m) => new Float32Array(m * m));
  let next = 0;
  for (const group of planPieces(sizes, opts.readbackBytes ?? DEFAULT_READBACK_BYTES)) {
    throwIfAborted(opts.signal);
    // Each piece goes straight from the mapped read-back into its block's matrix.
    await computeGroup(x, blocks, group, opts, (flat) => {
      let off = 0;
      for (const p of group) {
        const m = sizes[p.block];
        out[p.block].set(flat.subarray(off, off + p.rows * m), p.r0 * m);
        off += p.rows * m;
      }
    });
    const last = group[group.length - 1];
    const done = last.r0 + last.rows === sizes[last.block] ? last.block + 1 : last.block;
    for (; next < done; next++) yield { block: next, matrix: out[next] };
  }
  for (; next < blocks.length; next++) yield { block: next, matrix: out[next] };
}

/**
 * Records every piece of a group into one step, packs the outputs into one tensor and reads it back,
 * handing `consume` the mapped values (valid only during the call).
 */
async function computeGroup(
  x: Tensor,
  blocks: readonly Uint32Array[],
  group: readonly Piece[],
  opts: PairwiseOptions,
  consume: (flat: Float32Array) => void,
): Promise<void> {
  const gpu = x.gpu;
  const total = group.reduce((s, p) => s + p.rows * blocks[p.block].length, 0);
  const packed = empty(gpu, [total], "f32", "pairwise_blocks.packed"); // (Σ rows·m) f32
  const step = new Step(gpu, "pairwise blocks");
  try {
    let off = 0;
    for (const p of group) {
      const rows = blocks[p.block];
      const xb = gatherRows(step, x, rows); // (m, d)
      const xr = p.r0 === 0 && p.rows === rows.length
        ? xb
        : gatherRows(step, x, rows.subarray(p.r0, p.r0 + p.rows));
      const block = empty(gpu, [p.rows, rows.length], "f32", "pairwise_blocks.block"); // (rows, m)
      encodePairwise(step, xr, xb, block, opts);
      step.copy(block, packed, block.byteLength, 0, off * 4);
      off += block.size;
      step.release(xb, block, ...(xr === xb ? [] : [xr]));
    }
  } catch (e) {
    await step.abandon();
    packed.dispose();
    throw e;
  }
  await step.submit();
  try {
    await packed.readWith(consume);
  } finally {
    packed.dispose();
  }
}
