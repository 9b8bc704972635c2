/**
 * NFG — noise-free loss gradients (Mohanty, Anudeep, Mopuri, TMLR 2025; algorithms.md, "NFG"; checked against
 * github.com/ai23resch04001/Noise_free_gradient). A one-shot, unweighted, per-class selection:
 *
 *   gᵢ = eᵢ ⊗ hᵢ                          last-layer weight gradient (bias part dropped, as in the code)
 *   dᵢⱼ = max(0, 1 − cos(gᵢ, gⱼ))        within a class, cos(gᵢ, gⱼ) = cos(eᵢ, eⱼ) · cos(hᵢ, hⱼ)
 *   countᵢ = #{ j ≠ i : dᵢⱼ < r }        strictly, r = 0.2; a sample never counts itself
 *   rankᵢ(t) = 0-based position of i when its class is sorted by countᵢ descending at checkpoint t
 *   keep, per class, the round(fraction · n_c) samples with the smallest Σₜ rankᵢ(t)
 *
 * Checkpoints come from a warm-up (`nfgSelect`): a fresh model trained `warmEpochs` epochs on the full data
 * with plain SGD (lr 0.1, batch 32, no momentum, no weight decay, constant rate), features extracted after
 * every epoch in eval mode. `NfgStrategy` does the rest, for a caller with the checkpoints' features.
 *
 * GPU: per class, the cosine matrix is computed in column blocks (factor_gram in cosine, weight-only mode, or
 * pairwise cosine for dense gradients) and counted by count_below. Two read-backs per checkpoint: a feature
 * check (NaN, ±∞, |x| ≥ 1e6) before any work, then all classes' counts. Since dᵢⱼ < r ⟺ cos > 1 − r
 * (r > 0), countᵢ = (n_c − 1) − #{ j ≠ i : cos < u }, u the smallest float32 above 1 − r: for a float32
 * cosine, cos ≥ u ⟺ cos > 1 − r exactly, so the only error is the cosine's.
 *
 * Deterministic choices (the reference leaves them to torch.sort): ties in counts and in rank sums go to the
 * lower row index. The budget arrives as a count k: fraction = k / n, class quotas are Python's
 * round(fraction · n_c) (half to even, at least 1), then made to sum to exactly k (`nfgQuotas`).
 *
 * Final training (the caller's job, e.g. the training driver): a fresh model on the subset, plain
 * (unweighted) cross-entropy, SGD lr 0.1, momentum 0.9 Nesterov, weight decay 5e-4, batch 128, cosine
 * annealing per batch down to 1e-4 — `NFG_FINAL_TRAIN_CONFIG`.
 */
import type { Gpu } from "../gpu/device.ts";
import { encodeCountBelow } from "../gpu/ops/count_below.ts";
import { encodeFactorGram } from "../gpu/ops/factor_gram.ts";
import { encodeGatherRows } from "../gpu/ops/gather_rows.ts";
import { encodePairwise } from "../gpu/ops/pairwise.ts";
import { Step } from "../gpu/step.ts";
import { empty, Tensor, tensor } from "../gpu/tensor.ts";
import { InvalidInputError, ShapeError, throwIfAborted } from "../errors.ts";
import { extract } from "../nn/extract.ts";
import { buildModel, type Model, type ModelSpec } from "../nn/model.ts";
import { type EpochMetrics, type Split, type TrainConfig, Trainer } from "../nn/train.ts";
import { classIndices } from "./budget.ts";
import {
  type GradientSource,
  type SelectionContext,
  sourceRows,
  type Strategy,
  type Subset,
} from "./types.ts";

/** NFG's settings; defaults from the reference scripts (algorithms.md). */
export interface NfgConfig {
  /** r: j is a neighbour of i when max(0, 1 − cos(gᵢ, gⱼ)) < r; in (0, 2] [0.2]. */
  radius: number;
  /** Warm-up epochs on the full data; one checkpoint after each [10]. `nfgSelect` only. */
  warmEpochs: number;
  /** Warm-up learning rate, constant, plain SGD [0.1]. `nfgSelect` only. */
  warmLr: number;
  /** Warm-up batch size [32] (the script's value; its argparse default is 64). `nfgSelect` only. */
  warmBatchSize: number;
  /** Rows per extraction batch [1000]. `nfgSelect` only. */
  extractBatchSize: number;
  /**
   * Bytes of one cosine block (n_c × columns f32) on the GPU [64 MiB]. A class of n_c rows is done in
   * ⌈4 n_c² / blockBytes⌉ blocks, one submission each (progress and cancellation act between them).
   */
  blockBytes: number;
}

export const DEFAULT_NFG_CONFIG: NfgConfig = {
  radius: 0.2,
  warmEpochs: 10,
  warmLr: 0.1,
  warmBatchSize: 32,
  extractBatchSize: 1000,
  blockBytes: 64 * 2 ** 20,
};

/** The training protocol of the final model on an NFG subset (coreset_train.py / run_coreset_training.sh). */
export const NFG_FINAL_TRAIN_CONFIG: Partial<TrainConfig> = {
  lr: 0.1,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  batchSize: 128,
  schedule: { kind: "cosine", minLr: 1e-4 },
};

/**
 * Features must stay below this in magnitude: factor_gram multiplies ⟨e, e'⟩ by ⟨h, h'⟩ in f32, which
 * overflows (and turns cosines into NaN) near |x| ≈ 1e7 for C·D ≈ 1e9. Cosines are scale-invariant per
 * factor, so a user can rescale larger features.
 */
const MAX_ABS_FEATURE = 1e6;

/** Smallest positive normal f32: lavapipe may flush subnormal thresholds to 0. */
const F32_MIN_NORMAL = 2 ** -126;

/** Fills in and checks a config. */
export function resolveNfgConfig(config: Partial<NfgConfig> = {}): NfgConfig {
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c: NfgConfig = { ...DEFAULT_NFG_CONFIG, ...given };
  const bad = (what: string, v: unknown) => new InvalidInputError(`nfg: ${what}, got ${v}`);
  if (!(c.radius > 0 && c.radius <= 2)) throw bad("radius must be in (0, 2]", c.radius);
  if (!Number.isInteger(c.warmEpochs) || c.warmEpochs < 1) {
    throw bad("warmEpochs must be an integer ≥ 1", c.warmEpochs);
  }
  if (!(c.warmLr > 0 && Number.isFinite(c.warmLr))) throw bad("warmLr must be positive", c.warmLr);
  for (const key of ["warmBatchSize", "extractBatchSize", "blockBytes"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw bad(`${key} must be an integer ≥ 1`, c[key]);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Counts on the GPU

/** Options of `nfgCounts`. */
export interface NfgCountsOptions {
  numClasses: number;
  /** r [0.2]. */
  radius?: number;
  /** See `NfgConfig.blockBytes`. */
  blockBytes?: number;
  signal?: AbortSignal;
  /** Called after each class: `done` of `total` classes. */
  progress?: (done: number, total: number, note?: string) => void;
}

/** A row set on the GPU: [e, h] of a factored source (weight part only) or [g] of a dense one. */
type Parts = Tensor[];

/**
 * Neighbour counts of one checkpoint, (n) u32 indexed by row: countᵢ = #{ j ≠ i in i's class :
 * max(0, 1 − cos(gᵢ, gⱼ)) < r }. Factored sources use gᵢ = eᵢ ⊗ hᵢ whatever their `bias` flag (NFG drops
 * the bias part); dense sources use their rows as gᵢ. Throws `InvalidInputError` for features that are
 * not finite or exceed ±1e6. One read-back for the feature check and one for the counts.
 */
export async function nfgCounts(
  features: GradientSource,
  labels: Uint32Array,
  opts: NfgCountsOptions,
): Promise<Uint32Array> {
  const parts: Parts = features.kind === "factored" ? [features.e, features.h] : [features.g];
  const n = labels.length;
  checkRows(features, n);
  const { radius, blockBytes } = resolveNfgConfig({ radius: opts.radius, blockBytes: opts.blockBytes });
  const classes = classIndices(labels, opts.numClasses);
  if (n === 0) return new Uint32Array(0);
  const gpu = parts[0].gpu;
  await checkFeatures(gpu, parts, n);
  const u = cosineThreshold(radius);
  const below = empty(gpu, [n], "u32", "nfg.below"); // (n) u32, class-sorted: #{ j ≠ i : cos < u }
  try {
    let offset = 0;
    for (const [c, members] of classes.entries()) {
      throwIfAborted(opts.signal);
      // A class of one has no one else to count: 0, filled in below.
      if (members.length > 1) {
        const cols = Math.max(1, Math.min(members.length, Math.floor(blockBytes / (4 * members.length))));
        await countClass(gpu, { parts, members, u, cols, signal: opts.signal }, below, offset);
        offset += members.length;
      }
      opts.progress?.(c + 1, classes.length, `class ${c}: ${members.length} samples`);
    }
    const sorted = await below.read();
    const counts = new Uint32Array(n);
    offset = 0;
    for (const members of classes) {
      if (members.length < 2) continue;
      for (const i of members) counts[i] = members.length - 1 - sorted[offset++];
    }
    return counts;
  } finally {
    below.dispose();
  }
}

function checkRows(features: GradientSource, n: number): void {
  const rows = sourceRows(features);
  if (rows !== n) throw new ShapeError(`nfg: the features have ${rows} rows but there are ${n} labels`);
  if (features.kind === "factored" && features.h.shape[0] !== rows) {
    throw new ShapeError(`nfg: e has ${rows} rows but h has ${features.h.shape[0]}`);
  }
}

/** u: the smallest f32 above t = 1 − r, so that cos > t ⟺ !(cos < u) for any f32 cos. */
export function cosineThreshold(radius: number): number {
  const t = 1 - radius;
  let u = Math.fround(t);
  if (u <= t) {
    const f = new Float32Array([u]);
    const bits = new Int32Array(f.buffer);
    if (u === 0) bits[0] = 1;
    else bits[0] += u > 0 ? 1 : -1;
    u = f[0];
  }
  // A subnormal u could be flushed to 0 on the GPU; cosines that small are 0 for this purpose.
  if (Math.abs(u) < F32_MIN_NORMAL) u = t < 0 ? 0 : F32_MIN_NORMAL;
  return u;
}

/**
 * Rejects non-finite or huge features: count_below gives #{ x < T } (NaN and +∞ never count) and
 * #{ x < −T } (−∞ counts) per row, summed over the parts; a clean row has all its entries in the first and
 * none in the second.
 */
async function checkFeatures(gpu: Gpu, parts: Parts, n: number): Promise<void> {
  const inRange = empty(gpu, [n], "u32", "nfg.in_range"); // (n) u32
  const under = empty(gpu, [n], "u32", "nfg.under"); // (n) u32
  const both = empty(gpu, [2 * n], "u32", "nfg.check"); // (2n) u32: inRange then under
  const step = new Step(gpu, "nfg feature check");
  step.release(inRange, under);
  try {
    for (const [k, p] of parts.entries()) {
      encodeCountBelow(step, p, inRange, { threshold: MAX_ABS_FEATURE, accumulate: k > 0 });
      encodeCountBelow(step, p, under, { threshold: -MAX_ABS_FEATURE, accumulate: k > 0 });
    }
    step.copy(inRange, both, 4 * n, 0, 0);
    step.copy(under, both, 4 * n, 0, 4 * n);
  } catch (e) {
    await step.abandon();
    both.dispose();
    throw e;
  }
  await step.submit();
  const got = await both.read();
  both.dispose();
  const width = parts.reduce((s, p) => s + p.shape[1], 0);
  for (let i = 0; i < n; i++) {
    if (got[i] !== width || got[n + i] !== 0) {
      throw new InvalidInputError(
        `nfg: the features of row ${i} are not finite or exceed ±${MAX_ABS_FEATURE} ` +
          `(NaN after a diverged warm-up? rescale large embeddings — cosines do not depend on scale)`,
      );
    }
  }
}

/** One class's work: its rows, the f32 threshold u and the columns per cosine block. */
interface ClassJob {
  parts: Parts;
  /** (n_c) rows of the class. */
  members: Uint32Array;
  u: number;
  cols: number;
  signal?: AbortSignal;
}

/**
 * Writes #{ j ≠ i : cos(gᵢ, gⱼ) < u } of a class into `dst` at `offset` (class-sorted rows), one submission
 * per column block, waiting for each so cancellation takes effect between them.
 */
async function countClass(gpu: Gpu, job: ClassJob, dst: Tensor<"u32">, offset: number): Promise<void> {
  const { parts, members, cols } = job;
  const m = members.length;
  const idx = tensor(gpu, members, [m], "nfg.members"); // (n_c) u32
  // (n_c, C) [and (n_c, D)] f32: the class's rows.
  const rows = parts.map((p) => empty(gpu, [m, p.shape[1]], "f32", "nfg.class_rows"));
  const counts = empty(gpu, [m], "u32", "nfg.class_counts"); // (n_c) u32
  const block = empty(gpu, [m, cols], "f32", "nfg.cos_block"); // (n_c, cols) f32
  const blocks = Math.ceil(m / cols);
  // (cols, C) [, (cols, D)]: the block's column rows, copied out of `rows` when there is more than one block.
  const scratch = blocks > 1
    ? parts.map((p) => empty(gpu, [cols, p.shape[1]], "f32", "nfg.block_rows"))
    : null;
  try {
    for (let b = 0; b < blocks; b++) {
      throwIfAborted(job.signal);
      const step = new Step(gpu, `nfg block ${b + 1}/${blocks} of ${m} rows`);
      try {
        if (b === 0) rows.forEach((r, k) => encodeGatherRows(step, parts[k], idx, r));
        encodeBlock(step, job, { rows, counts, block, scratch }, b * cols);
        if (b === blocks - 1) step.copy(counts, dst, 4 * m, 0, 4 * offset);
      } catch (e) {
        await step.abandon();
        throw e;
      }
      await step.submit();
      await gpu.device.queue.onSubmittedWorkDone();
    }
  } finally {
    await gpu.device.queue.onSubmittedWorkDone();
    [idx, ...rows, counts, block, ...(scratch ?? [])].forEach((t) => t.dispose());
  }
}

/** Records the cosines of all class rows against columns j0.. and adds their below-u counts. */
function encodeBlock(
  step: Step,
  job: ClassJob,
  t: { rows: Parts; counts: Tensor<"u32">; block: Tensor; scratch: Parts | null },
  j0: number,
): void {
  const m = job.members.length;
  const b = Math.min(job.cols, m - j0);
  let colRows = t.rows;
  if (t.scratch) {
    colRows = t.scratch.map((s, k) => {
      const width = s.shape[1];
      const v = view(s, [b, width]);
      step.copy(t.rows[k], v, 4 * b * width, 4 * j0 * width, 0);
      return v;
    });
  }
  const out = view(t.block, [m, b]);
  if (t.rows.length === 2) {
    const [a, c] = [{ e: t.rows[0], h: t.rows[1] }, { e: colRows[0], h: colRows[1] }];
    encodeFactorGram(step, a, c, out, { bias: false, cosine: true });
  } else {
    encodePairwise(step, t.rows[0], colRows[0], out, { metric: "cosine" });
  }
  encodeCountBelow(step, out, t.counts, {
    threshold: job.u,
    excludeDiagonal: true,
    colOffset: j0,
    accumulate: j0 > 0,
  });
}

/** A view of the first elements of `t`'s buffer with a smaller shape (its owner keeps the buffer). */
function view(t: Tensor, shape: number[]): Tensor {
  return new Tensor(t.gpu, shape, "f32", t.label, t.buffer);
}

// ---------------------------------------------------------------------------------------------------------
// Ranks, quotas and the subset (CPU)

/**
 * Ranks within one class at one checkpoint: the 0-based position of each member when the class is sorted
 * by count descending, ties to the lower row index. Returned in `members` order.
 */
export function classRanks(counts: ArrayLike<number>, members: Uint32Array): Uint32Array {
  const order = Array.from(members.keys()).sort((a, b) =>
    counts[members[b]] - counts[members[a]] || members[a] - members[b]
  );
  const ranks = new Uint32Array(members.length);
  order.forEach((pos, rank) => (ranks[pos] = rank));
  return ranks;
}

/** Python's round(): to the nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Per-class quotas summing to exactly k. With fraction = k / n, each non-empty class first gets
 * round(fraction · n_c) (half to even, at least 1, at most n_c; empty classes 0), as the reference does.
 * Rounding can miss k by up to about one per class, so then, one sample at a time:
 * - over k: take one from the class whose quota most exceeds fraction · n_c, among classes above 1 while
 *   there are any (below that, k is smaller than the number of classes and the smallest classes go empty);
 *   ties to the higher class index;
 * - under k: give one to the class furthest below fraction · n_c with room left; ties to the lower index.
 */
export function nfgQuotas(sizes: readonly number[], k: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new InvalidInputError(`nfg: budget ${k} must be an integer in [1, ${n}]`);
  }
  const fraction = k / n;
  const exact = sizes.map((s) => fraction * s);
  const q = sizes.map((s, c) => (s === 0 ? 0 : Math.min(s, Math.max(1, roundHalfEven(exact[c])))));
  let total = q.reduce((a, b) => a + b, 0);
  for (; total > k; total--) {
    const floor = q.some((v) => v > 1) ? 2 : 1;
    q[argBest(q, (c) => q[c] >= floor, (c) => q[c] - exact[c], false)]--;
  }
  for (; total < k; total++) {
    q[argBest(q, (c) => q[c] < sizes[c], (c) => exact[c] - q[c], true)]++;
  }
  return q;
}

/** The index c with ok(c) and the largest score(c); ties to the lower index when `low`, else the higher. */
function argBest(
  q: number[],
  ok: (c: number) => boolean,
  score: (c: number) => number,
  low: boolean,
): number {
  let best = -1;
  for (let c = 0; c < q.length; c++) {
    if (!ok(c)) continue;
    if (best < 0 || score(c) > score(best) || (!low && score(c) === score(best))) best = c;
  }
  return best;
}

/** Rank sums over checkpoints, and the subset they give. */
export class NfgRanking {
  /** Row indices of each class. */
  readonly classes: readonly Uint32Array[];
  /** (n) Σₜ rankᵢ(t). */
  readonly rankSums: Float64Array;
  checkpoints = 0;

  constructor(classes: readonly Uint32Array[], n: number) {
    this.classes = classes;
    this.rankSums = new Float64Array(n);
  }

  /** Adds one checkpoint's neighbour counts, (n) indexed by row. */
  add(counts: ArrayLike<number>): void {
    if (counts.length !== this.rankSums.length) {
      throw new ShapeError(`nfg: ${counts.length} counts for ${this.rankSums.length} rows`);
    }
    for (const members of this.classes) {
      const ranks = classRanks(counts, members);
      members.forEach((i, pos) => (this.rankSums[i] += ranks[pos]));
    }
    this.checkpoints++;
  }

  /** Exactly k rows: per class the `nfgQuotas` smallest rank sums (ties to the lower index), weight 1. */
  subset(k: number): Subset {
    const quotas = nfgQuotas(this.classes.map((m) => m.length), k);
    const picked: number[] = [];
    this.classes.forEach((members, c) => {
      const order = Array.from(members).sort((a, b) => this.rankSums[a] - this.rankSums[b] || a - b);
      picked.push(...order.slice(0, quotas[c]));
    });
    const indices = Uint32Array.from(picked).sort();
    return { indices, weights: new Float32Array(indices.length).fill(1) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// CPU reference twin (for tests)

/** A checkpoint's features on the CPU: factored (n, C) and (n, D), or dense (n, d). */
export type CpuFeatures =
  | { kind: "factored"; e: Float32Array; h: Float32Array; c: number; d: number }
  | { kind: "dense"; g: Float32Array; d: number };

/** `nfgCounts` in float64 on the CPU, from the factorisation cos(gᵢ, gⱼ) = cos(eᵢ, eⱼ) · cos(hᵢ, hⱼ). */
export function nfgCountsCpu(
  f: CpuFeatures,
  labels: Uint32Array,
  numClasses: number,
  radius = 0.2,
): Uint32Array {
  const parts = f.kind === "factored" ? [[f.e, f.c], [f.h, f.d]] as const : [[f.g, f.d]] as const;
  const cos = (i: number, j: number) =>
    parts.reduce((acc, [x, w]) => {
      let [s, a, b] = [0, 0, 0];
      for (let t = 0; t < w; t++) {
        s += x[i * w + t] * x[j * w + t];
        a += x[i * w + t] ** 2;
        b += x[j * w + t] ** 2;
      }
      return acc * (a > 0 && b > 0 ? s / Math.sqrt(a * b) : 0);
    }, 1);
  const counts = new Uint32Array(labels.length);
  for (const members of classIndices(labels, numClasses)) {
    for (const i of members) {
      for (const j of members) if (i !== j && Math.max(0, 1 - cos(i, j)) < radius) counts[i]++;
    }
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------
// Strategy and warm-up driver

/** Options of `NfgStrategy`. */
export interface NfgStrategyOptions extends Partial<NfgConfig> {
  /**
   * The checkpoints' features, rows aligned with the context's labels. Default: the context's `features`
   * as the only checkpoint.
   */
  checkpoints?: readonly GradientSource[];
}

/** NFG over features the caller already has (one source per checkpoint). Deterministic: uses no rng. */
export class NfgStrategy implements Strategy {
  readonly name = "nfg";
  readonly config: NfgConfig;
  readonly checkpoints: readonly GradientSource[] | null;

  constructor(options: NfgStrategyOptions = {}) {
    const { checkpoints, ...config } = options;
    this.config = resolveNfgConfig(config);
    this.checkpoints = checkpoints ?? null;
  }

  async select(ctx: SelectionContext): Promise<Subset> {
    if (!ctx.labels) throw new InvalidInputError("nfg selects per class and needs labels");
    const labels = ctx.labels;
    const sources = this.checkpoints ?? [ctx.features];
    if (sources.length === 0) throw new InvalidInputError("nfg: no checkpoints to rank by");
    const classes = classIndices(labels, ctx.numClasses);
    nfgQuotas(classes.map((m) => m.length), ctx.budget); // validates the budget before any GPU work
    const ranking = new NfgRanking(classes, labels.length);
    for (const [t, source] of sources.entries()) {
      const counts = await nfgCounts(source, labels, {
        numClasses: ctx.numClasses,
        radius: this.config.radius,
        blockBytes: this.config.blockBytes,
        signal: ctx.signal,
        progress: (done, total, note) =>
          ctx.progress?.(
            t * total + done,
            sources.length * total,
            `checkpoint ${t + 1}/${sources.length}: ${note}`,
          ),
      });
      ranking.add(counts);
    }
    return ranking.subset(ctx.budget);
  }
}

/** Options of `nfgSelect`. */
export interface NfgSelectOptions {
  /** The warm-up model; built fresh from this spec (its seed fixes the initial weights). */
  model: ModelSpec;
  /** The full training data. */
  train: Split;
  /** Samples to select, a count in [1, n] (resolve fractions with `resolveBudget`). */
  budget: number;
  config?: Partial<NfgConfig>;
  /** Seed of the warm-up's batch order [model.seed]. */
  seed?: number;
  signal?: AbortSignal;
  /** One unit per warm-up epoch and one per class and checkpoint. */
  progress?: (done: number, total: number, note?: string) => void;
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
}

/** What `nfgSelect` returns. */
export interface NfgResult {
  subset: Subset;
  /** Neighbour counts of each checkpoint, (n) u32 each. */
  counts: Uint32Array[];
  /** (n) Σₜ rankᵢ(t). */
  rankSums: Float64Array;
  /** The warm-up's epochs. */
  warmup: EpochMetrics[];
}

/** The warm-up's trainer settings: plain SGD at a constant rate (train_and_save_models.py). */
function warmupTrainConfig(c: NfgConfig, seed: number): Partial<TrainConfig> {
  const schedule = { kind: "constant" } as const;
  return {
    epochs: c.warmEpochs,
    batchSize: c.warmBatchSize,
    lr: c.warmLr,
    momentum: 0,
    nesterov: false,
    weightDecay: 0,
    schedule,
    seed,
  };
}

/** One checkpoint: features of the current model (eval mode), their counts; the features are freed after. */
async function checkpointCounts(
  model: Model,
  opts: NfgSelectOptions,
  config: NfgConfig,
  progress: NfgCountsOptions["progress"],
): Promise<Uint32Array> {
  const ex = await extract(model, opts.train, { batchSize: config.extractBatchSize, signal: opts.signal });
  try {
    return await nfgCounts({ kind: "factored", e: ex.e, h: ex.h, bias: false }, opts.train.labels, {
      numClasses: opts.model.numClasses,
      radius: config.radius,
      blockBytes: config.blockBytes,
      signal: opts.signal,
      progress,
    });
  } finally {
    ex.dispose();
  }
}

/**
 * The whole NFG selection: warm-up on the full data, after every epoch extraction (eval mode) and the
 * checkpoint's counts (its features are freed before the next epoch), then the subset. The final training
 * on the subset is the caller's (see `NFG_FINAL_TRAIN_CONFIG`).
 */
export async function nfgSelect(gpu: Gpu, opts: NfgSelectOptions): Promise<NfgResult> {
  const config = resolveNfgConfig(opts.config);
  const { train, model: spec } = opts;
  const classes = classIndices(train.labels, spec.numClasses);
  nfgQuotas(classes.map((m) => m.length), opts.budget); // validates the budget before any training
  const ranking = new NfgRanking(classes, train.labels.length);
  const counts: Uint32Array[] = [];
  const per = spec.numClasses + 1; // progress units per checkpoint: the epoch, then each class
  const total = config.warmEpochs * per;
  const model = buildModel(gpu, spec);
  try {
    const trainer = new Trainer(model, { train }, warmupTrainConfig(config, opts.seed ?? spec.seed));
    const warmup = await trainer.fit({
      signal: opts.signal,
      onEpoch: async (m) => {
        const base = (m.epoch - 1) * per;
        const note = `warm-up epoch ${m.epoch}/${config.warmEpochs}, loss ${m.trainLoss.toFixed(4)}`;
        opts.progress?.(base + 1, total, note);
        const c = await checkpointCounts(model, opts, config, (done, _t, note) => {
          opts.progress?.(base + 1 + done, total, `checkpoint ${m.epoch}: ${note}`);
        });
        ranking.add(c);
        counts.push(c);
        await opts.onEpoch?.(m);
      },
    });
    return { subset: ranking.subset(opts.budget), counts, rankSums: ranking.rankSums, warmup };
  } finally {
    model.dispose();
  }
}
