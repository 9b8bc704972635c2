/**
 * CREST — Yang, Kang & Mirzasoleiman, "Towards Sustainable Learning: Coresets for Data-efficient Deep
 * Learning", ICML 2023 (algorithms.md, "CREST"; checked against github.com/YuYang0901/CREST @ 04ec1d7).
 * Training with mini-batch coresets that are re-selected when a quadratic model of the loss stops
 * predicting it:
 *
 * 1. Selection. Draw P random subsets, each ⌈poolFraction·n/C⌉ samples per class without replacement
 *    (independent; they may overlap). Features zᵢ = softmax(logitsᵢ) − onehot(yᵢ) from an eval pass over those
 *    rows only. Per subset and class, facility location (lazy greedy) with sᵢⱼ = exp(−‖zᵢ − zⱼ‖₂ / C)
 *    picks ⌈B/C⌉ (all of them when the class block is smaller); the weight of a pick is its cluster size
 *    (0 → 1). The P coresets are pooled and their weights rescaled together to mean 1.
 * 2. Training: the pooled coreset is shuffled into batches of B and cycled; batch loss = mean(wᵢ·ℓᵢ);
 *    SGD without momentum by default (the code passes none), lr 0.1, weight decay 1e-4.
 * 3. Quadratic model, fitted after each selection on the weighted coreset in batches of B:
 *      L(θ₀ + δ) ≈ L₀ + δ·g + ½ δ·(H ⊙ δ)
 *    L₀ = batch-size-weighted mean batch loss; g = batch-size-weighted mean of the bias-corrected EMA
 *    (β₁ = 0.9) of batch gradients; H likewise of √(bias-corrected EMA, β₂ = 0.999, of (v ⊙ Hv)²) + 1e-4
 *    (AdaHessian's diagonal with one Rademacher v per batch). The EMAs are never reset.
 * 4. δ = −Σ lr·(batch gradient) since the selection (weight decay excluded, as in the code). Every T₁
 *    steps: true = mean unweighted CE on the union of the P random subsets (eval mode); if
 *    |true − predicted| > τ·true, re-select at that step (τ = 0.1).
 * 5. After every selection but the first, T₁ = ⌈‖H₀‖/‖H_t‖·h⌉ and the next selection draws
 *    P = min(b·T₁, steps per epoch) subsets (h = 1, b = 5); ‖H‖ = mean L2 norm of H over the fitting
 *    batches, H₀ from the first selection. First selection: P = 5, T₁ = 1.
 * 6. Drop learned (off by default): see `updatePool`.
 *
 * Budget: `trainFraction` is a fraction of steps, as in the code: an "epoch" is
 * ⌈⌊trainFraction·n⌋ / B⌉ coreset steps and training runs `epochs` of them, so CREST at 0.1 sees as many
 * samples as training on a fixed 10% subset for the same number of epochs.
 *
 * Hessian-vector products: the engine has no second-order autodiff, so Hv is a central finite difference
 * of gradients over all parameters, Hv ≈ (∇L(θ + εv) − ∇L(θ − εv)) / (2ε), ε = 1e-3 (`hvpEpsilon`). With
 * Rademacher v every parameter moves by exactly ±ε. The truncation error is O(ε²·L‴) and the float32
 * rounding error O(u·‖∇L‖/ε), u ≈ 6e-8; ε ≈ u^⅓ ≈ 4e-3 balances them for unit-scale curvature and 1e-3
 * leans towards fewer ReLU kinks crossed (each crossing makes the difference quotient average the two
 * sides instead of giving either). θ is restored by copy, not by subtracting εv again, so training is
 * bit-for-bit unaffected by the probes.
 *
 * Not copied: the doubled gradient (the code back-propagates twice per step, once with create_graph, and
 * applies the sum). Our choices: no LR warm-up — the code's epoch 0 runs full-data batches at LR 0, which
 * changes no weights, so the first selection happens at step 0 on the initial model exactly as the code's
 * does at the start of epoch 1; its linear warm-up over 20 epochs and milestones at 50%/75% are replaced by
 * the engine's `Schedule` (cosine by default). The τ check uses the union (unique rows) of the P subsets;
 * the code indexes the concatenation, counting overlaps twice. A class with fewer rows than the pool size
 * gives all of them to each subset (the code would fail).
 */
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { Step } from "../gpu/step.ts";
import { empty, type Tensor, tensor } from "../gpu/tensor.ts";
import { encodeCrossEntropy } from "../gpu/ops/cross_entropy.ts";
import { encodeMetrics } from "../gpu/ops/metrics.ts";
import { encodeSgd } from "../gpu/ops/sgd.ts";
import type { Batch, Model } from "../nn/model.ts";
import type { Param } from "../nn/layers.ts";
import { extract } from "../nn/extract.ts";
import { learningRate, type Schedule } from "../nn/schedule.ts";
import {
  encodeEvalBatch,
  type EpochMetrics,
  type Split,
  SYNC_EVERY,
  Trainer,
  uploadBatch,
} from "../nn/train.ts";
import { fromBase64, toBase64 } from "../util/base64.ts";
import { Rng } from "../util/rng.ts";
import { classIndices } from "./budget.ts";
import { DEFAULT_READBACK_BYTES, maximizeFacilityLocation, pairwiseBlocks } from "./facility_location.ts";

/** Settings of CREST; defaults are the code's argparse defaults unless noted. */
export interface CrestConfig {
  /** Epochs of ⌈⌊trainFraction·n⌋ / B⌉ steps each (the code: 200). */
  epochs: number;
  /** B: batch size, and C·⌈B/C⌉ picks per mini-batch coreset (128). */
  batchSize: number;
  /** Budget as a fraction of steps (`train_frac`, 0.1); see the header. */
  trainFraction: number;
  /** SGD learning rate (0.1). */
  lr: number;
  /** SGD momentum (0: the code passes none). */
  momentum: number;
  /** L2 weight decay on weights, not biases (1e-4). */
  weightDecay: number;
  /** LR schedule over all steps (cosine; the code: 20-epoch warm-up, ×0.1 at 50% and 75%). */
  schedule: Schedule;
  /** Random subsets hold ⌈poolFraction·n/C⌉ per class (`random_subset_size`, 0.01). */
  poolFraction: number;
  /** P at the first selection (`num_minibatch_coreset`, 5). */
  initialSubsets: number;
  /** T₁ until the second selection (`check_interval`, 1). */
  checkInterval: number;
  /** h in T₁ = ⌈‖H₀‖/‖H_t‖·h⌉ (`interval_mul`, 1). */
  intervalMul: number;
  /** b in P = min(b·T₁, steps/epoch) (`batch_num_mul`, 5). */
  batchNumMul: number;
  /** τ: re-select when |true − predicted| > τ·true (`check_thresh_factor`, 0.1). */
  checkThreshold: number;
  /** β₁ of the gradient EMA (0.9). */
  beta1: number;
  /** β₂ of the EMA of (v ⊙ Hv)² (0.999). */
  beta2: number;
  /** Added to √EMA in H (AdaHessian's eps, 1e-4). */
  hessianEps: number;
  /** ε of the finite-difference Hessian-vector product (1e-3; see the header). */
  hvpEpsilon: number;
  /** Drop learned examples from the pool (`drop_learned`, false). */
  dropLearned: boolean;
  /** Re-pool in epochs with (epoch + 1) mod dropInterval = 0 (20). */
  dropInterval: number;
  /** Loss slots: a selection writes slot epoch mod watchInterval (5). */
  watchInterval: number;
  /** A stored loss above this keeps an example (`drop_thresh`, 0.1). */
  dropThreshold: number;
  /** The new pool is used only if larger than this, absolute (`min_train_size`, 40000). */
  minTrainSize: number;
  /** Seeds the random subsets, batch order and Rademacher vectors. */
  seed: number;
  /** Rows per forward-only batch (extraction, checks, test evaluation). */
  evalBatchSize: number;
  /** Cap on one GPU → CPU read-back (similarity blocks, curvature probes). */
  readbackBytes: number;
}

export const DEFAULT_CREST_CONFIG: CrestConfig = {
  epochs: 200,
  batchSize: 128,
  trainFraction: 0.1,
  lr: 0.1,
  momentum: 0,
  weightDecay: 1e-4,
  schedule: { kind: "cosine" },
  poolFraction: 0.01,
  initialSubsets: 5,
  checkInterval: 1,
  intervalMul: 1,
  batchNumMul: 5,
  checkThreshold: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  hessianEps: 1e-4,
  hvpEpsilon: 1e-3,
  dropLearned: false,
  dropInterval: 20,
  watchInterval: 5,
  dropThreshold: 0.1,
  minTrainSize: 40000,
  seed: 0,
  evalBatchSize: 256,
  readbackBytes: DEFAULT_READBACK_BYTES,
};

// ---------------------------------------------------------------------------------------------------
// Pure pieces (CPU): sampling, weights, the quadratic model, the schedule

/** Steps in one CREST "epoch": ⌈⌊trainFraction·n⌋ / B⌉ (at least 1). */
export function crestStepsPerEpoch(n: number, opts: { trainFraction: number; batchSize: number }): number {
  return Math.max(1, Math.ceil(Math.floor(opts.trainFraction * n) / opts.batchSize));
}

/** Random-subset size per class: ⌈poolFraction·n / C⌉. */
export function poolSizePerClass(n: number, opts: { numClasses: number; poolFraction: number }): number {
  return Math.ceil((opts.poolFraction * n) / opts.numClasses);
}

/**
 * `count` independent random subsets; subset p, class c = min(perClass, |pools[c]|) rows of pools[c]
 * drawn without replacement (a partial Fisher–Yates shuffle), in draw order.
 */
export function stratifiedSubsets(
  pools: readonly Uint32Array[],
  opts: { perClass: number; count: number; rng: Rng },
): Uint32Array[][] {
  const { rng } = opts;
  return Array.from({ length: opts.count }, () =>
    pools.map((pool) => {
      const a = pool.slice();
      const m = Math.min(opts.perClass, a.length);
      for (let i = 0; i < m; i++) {
        const j = i + rng.int(a.length - i);
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a.subarray(0, m);
    }));
}

/** Weights scaled together to mean 1 (what the code does to the pooled coresets). */
export function rescaleToMeanOne(weights: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i];
  return Float32Array.from(weights, (w) => (w * weights.length) / sum);
}

/** A ±1 vector with independent fair signs (Hutchinson's probe). */
export function rademacher(rng: Rng, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i += 32) {
    const bits = rng.nextU32();
    for (let b = 0; b < 32 && i + b < n; b++) v[i + b] = (bits >>> b) & 1 ? 1 : -1;
  }
  return v;
}

/** The quadratic model's prediction L₀ + δ·g + ½ δ·(H ⊙ δ), in float64. */
export function quadraticPrediction(
  model: { l0: number; g: ArrayLike<number>; h: ArrayLike<number> },
  delta: ArrayLike<number>,
): number {
  const { l0, g, h } = model;
  let lin = 0, quad = 0;
  for (let i = 0; i < delta.length; i++) {
    lin += delta[i] * g[i];
    quad += delta[i] * h[i] * delta[i];
  }
  return l0 + lin + 0.5 * quad;
}

/** The τ check: re-select when |true − predicted| > τ·true. */
export function needsReselection(check: { trueLoss: number; predicted: number }, tau: number): boolean {
  return Math.abs(check.trueLoss - check.predicted) > tau * check.trueLoss;
}

/** T₁ = ⌈‖H₀‖/‖H_t‖·h⌉ (≥ 1) and the next P = min(b·T₁, steps per epoch). */
export function nextCheckSchedule(
  h0Norm: number,
  hNorm: number,
  opts: { intervalMul: number; batchNumMul: number; stepsPerEpoch: number },
): { checkInterval: number; subsets: number } {
  const checkInterval = Math.max(1, Math.ceil((h0Norm / hNorm) * opts.intervalMul));
  return {
    checkInterval,
    subsets: Math.max(1, Math.min(opts.batchNumMul * checkInterval, opts.stepsPerEpoch)),
  };
}

/** Central finite-difference Hessian-vector product of a gradient oracle (the CPU twin of the GPU probe). */
export function fdHessianVector(
  grad: (theta: Float64Array) => ArrayLike<number>,
  at: { theta: ArrayLike<number>; v: ArrayLike<number>; eps: number },
): Float64Array {
  const { theta, v, eps } = at;
  const plus = Float64Array.from(theta, (t, i) => t + eps * v[i]);
  const minus = Float64Array.from(theta, (t, i) => t - eps * v[i]);
  const gp = grad(plus), gm = grad(minus);
  return Float64Array.from(gp, (x, i) => (x - gm[i]) / (2 * eps));
}

/** AdaHessian's moment state over N parameters; never reset across selections. */
export class HessianMoments {
  readonly m: Float64Array;
  readonly s: Float64Array;
  t = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(n: number, opts: { beta1: number; beta2: number; eps: number }) {
    this.m = new Float64Array(n);
    this.s = new Float64Array(n);
    ({ beta1: this.beta1, beta2: this.beta2, eps: this.eps } = opts);
  }

  /** One batch: EMAs of g and of (v ⊙ Hv)²; returns ĝ (bias-corrected) and H = √ŝ + eps. */
  update(g: ArrayLike<number>, vHv: ArrayLike<number>): { g: Float64Array; h: Float64Array } {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t, c2 = 1 - this.beta2 ** this.t;
    const gHat = new Float64Array(this.m.length), h = new Float64Array(this.m.length);
    for (let i = 0; i < this.m.length; i++) {
      this.m[i] = this.beta1 * this.m[i] + (1 - this.beta1) * g[i];
      this.s[i] = this.beta2 * this.s[i] + (1 - this.beta2) * vHv[i] * vHv[i];
      gHat[i] = this.m[i] / c1;
      h[i] = Math.sqrt(this.s[i] / c2) + this.eps;
    }
    return { g: gHat, h };
  }
}

/** One fitting batch's measurements: size, mean weighted loss, gradient and v ⊙ Hv. */
export interface ProbeBatch {
  size: number;
  loss: number;
  grad: ArrayLike<number>;
  vHv: ArrayLike<number>;
}

/** The fitted quadratic model: L₀, g, H (N each) and ‖H‖ (mean L2 norm over batches). */
export interface QuadraticModel {
  l0: number;
  g: Float64Array;
  h: Float64Array;
  hNorm: number;
}

/** Folds probe batches into the moments and averages ĝ and H weighted by batch size (the code's fit). */
export function fitQuadratic(moments: HessianMoments, batches: readonly ProbeBatch[]): QuadraticModel {
  const n = moments.m.length;
  const g = new Float64Array(n), h = new Float64Array(n);
  let total = 0, l0 = 0, hNorm = 0;
  for (const b of batches) {
    const est = moments.update(b.grad, b.vHv);
    let sq = 0;
    for (let i = 0; i < n; i++) {
      g[i] += b.size * est.g[i];
      h[i] += b.size * est.h[i];
      sq += est.h[i] * est.h[i];
    }
    total += b.size;
    l0 += b.size * b.loss;
    hNorm += Math.sqrt(sq) / batches.length;
  }
  for (let i = 0; i < n; i++) [g[i], h[i]] = [g[i] / total, h[i] / total];
  return { l0: l0 / total, g, h, hNorm };
}

/** Drop-learned bookkeeping: losses[slot·n + i] = CE of sample i at a selection (−1: never recorded). */
export function recordLosses(
  watch: Float32Array,
  at: { n: number; slot: number; rows: ArrayLike<number>; losses: ArrayLike<number> },
): void {
  const { n, slot, rows, losses } = at;
  for (let i = 0; i < rows.length; i++) watch[slot * n + rows[i]] = losses[i];
}

/**
 * The drop-learned pool (the code's `_drop_learned_data`): per class, the samples with a stored loss above
 * `threshold` plus the never-recorded ones; a class that would keep ≤ perClass keeps its old pool; the new
 * pools replace the old only if they hold more than `minTrainSize` samples in all.
 */
export function updatePool(
  watch: Float32Array,
  opts: {
    classes: readonly Uint32Array[];
    old: readonly Uint32Array[];
    n: number;
    slots: number;
    perClass: number;
    threshold: number;
    minTrainSize: number;
  },
): Uint32Array[] {
  const { classes, old } = opts;
  const keep = (i: number) => {
    let seen = false;
    for (let s = 0; s < opts.slots; s++) {
      const l = watch[s * opts.n + i];
      if (l > opts.threshold) return true;
      if (l >= 0) seen = true;
    }
    return !seen;
  };
  const pools = classes.map((rows, c) => {
    const kept = rows.filter(keep);
    return kept.length > opts.perClass ? kept : old[c];
  });
  return pools.reduce((s, p) => s + p.length, 0) > opts.minTrainSize ? pools : [...old];
}

// ---------------------------------------------------------------------------------------------------
// Mini-batch coresets (GPU similarity, CPU greedy)

/** Pooled mini-batch coresets: positions into the feature rows, weights with mean 1. */
export interface PooledCoresets {
  positions: Uint32Array;
  weights: Float32Array;
}

/**
 * Facility location on each block (rows of z (m, C), one block per subset and class) with
 * s = exp(−‖zᵢ − zⱼ‖₂ / scale), min(perClass, m_b) picks each; weights are cluster sizes (0 → 1), pooled and
 * rescaled to mean 1.
 */
export async function miniBatchCoresets(
  z: Tensor,
  blocks: readonly Uint32Array[],
  opts: { perClass: number; scale: number; readbackBytes?: number; signal?: AbortSignal },
): Promise<PooledCoresets> {
  const positions: number[] = [];
  const weights: number[] = [];
  const sims = pairwiseBlocks(z, blocks, { metric: "exp", ...opts });
  for await (const { block, matrix } of sims) {
    const rows = blocks[block];
    const r = maximizeFacilityLocation(matrix, {
      n: rows.length,
      k: Math.min(opts.perClass, rows.length),
      symmetric: true,
    });
    r.picks.forEach((p, t) => {
      positions.push(rows[p]);
      weights.push(Math.max(1, r.weights[t]));
    });
  }
  return { positions: Uint32Array.from(positions), weights: rescaleToMeanOne(weights) };
}

/** The CPU twin of `miniBatchCoresets`, similarity in float64; z is (rows, d) row-major. */
export function miniBatchCoresetsReference(
  z: Float32Array,
  blocks: readonly Uint32Array[],
  opts: { d: number; perClass: number; scale: number },
): PooledCoresets {
  const positions: number[] = [];
  const weights: number[] = [];
  for (const rows of blocks) {
    const m = rows.length;
    const sim = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let t = 0; t < opts.d; t++) acc += (z[rows[i] * opts.d + t] - z[rows[j] * opts.d + t]) ** 2;
        sim[i * m + j] = Math.exp(-Math.sqrt(acc) / opts.scale);
      }
    }
    const r = maximizeFacilityLocation(sim, { n: m, k: Math.min(opts.perClass, m), symmetric: true });
    r.picks.forEach((p, t) => {
      positions.push(rows[p]);
      weights.push(Math.max(1, r.weights[t]));
    });
  }
  return { positions: Uint32Array.from(positions), weights: rescaleToMeanOne(weights) };
}

// ---------------------------------------------------------------------------------------------------
// GPU machinery: parameters as one vector, gradients without updates, curvature probes

/** The model's parameters as one flat vector of N floats, in `model.params` order. */
class ParamSpace {
  readonly params: Param[];
  readonly offsets: number[];
  readonly size: number;
  /** SGD's momentum buffer is written even at μ = 0: a scratch one per parameter for axpy. */
  readonly #scratch: Tensor[];

  constructor(model: Model) {
    this.params = model.params;
    let off = 0;
    this.offsets = this.params.map((p) => (off += p.value.size) - p.value.size);
    this.size = off;
    this.#scratch = this.alloc("crest.scratch");
  }

  get values(): Tensor[] {
    return this.params.map((p) => p.value);
  }

  get grads(): Tensor[] {
    return this.params.map((p) => p.grad);
  }

  /** Zero-filled tensors shaped like the parameters. */
  alloc(label: string): Tensor[] {
    return this.params.map((p) => tensor(p.value.gpu, new Float32Array(p.value.size), p.value.shape, label));
  }

  /** Records y ← y + a·x for every parameter (the SGD kernel with μ = 0, no decay, lr = −a). */
  axpy(step: Step, y: Tensor[], x: Tensor[], a: number): void {
    y.forEach((t, i) =>
      encodeSgd(step, t, x[i], this.#scratch[i], { lr: -a, momentum: 0, weightDecay: 0, nesterov: false })
    );
  }

  copy(step: Step, from: Tensor[], to: Tensor[]): void {
    from.forEach((t, i) => step.copy(t, to[i]));
  }

  /** Records copies of the per-parameter tensors into dst, flat, starting at float `offset`. */
  pack(step: Step, from: Tensor[], dst: Tensor, offset: number): void {
    from.forEach((t, i) => step.copy(t, dst, t.byteLength, 0, (offset + this.offsets[i]) * 4));
  }

  /** Writes a flat vector into per-parameter tensors. */
  write(to: Tensor[], flat: Float32Array): void {
    to.forEach((t, i) => t.write(flat.subarray(this.offsets[i], this.offsets[i] + t.size)));
  }

  /** Disposes tensor sets made by `alloc`. */
  free(...sets: Tensor[][]): void {
    sets.forEach((s) => s.forEach((t) => t.dispose()));
  }

  dispose(): void {
    this.free(this.#scratch);
  }
}

/**
 * Records forward, CE and backward of mean(wᵢ·ℓᵢ) over the batch, filling every Param.grad without an
 * update. Returns the per-sample wᵢ·ℓᵢ (B) and logits, valid until the step is submitted.
 */
function recordLossGradient(
  step: Step,
  model: Model,
  batch: Batch,
  train: boolean,
): { loss: Tensor; logits: Tensor } {
  const { logits } = model.forward(step, batch.x, train);
  const b = batch.x.shape[0];
  const loss = empty(step.gpu, [b], "f32", "crest.loss");
  const dlogits = empty(step.gpu, logits.shape, "f32", "crest.dlogits");
  encodeCrossEntropy(step, { logits, labels: batch.labels, weights: batch.weights }, { loss, dlogits }, {
    scale: 1 / b,
  });
  model.backward(step, dlogits);
  step.release(loss, dlogits);
  return { loss, logits };
}

/**
 * Records a curvature probe of one batch into `out` at float `offset`: [∇L(θ), ∇L(θ+εv), ∇L(θ−εv)]
 * (N each) then the batch's wᵢ·ℓᵢ (B). θ is saved to `backup` and restored by copy.
 */
function recordProbe(
  step: Step,
  model: Model,
  space: ParamSpace,
  io: { batch: Batch; v: Tensor[]; backup: Tensor[]; out: Tensor; offset: number; eps: number },
): void {
  const { batch, v, backup, out, offset, eps } = io;
  const n = space.size;
  space.copy(step, space.values, backup);
  const { loss } = recordLossGradient(step, model, batch, true);
  space.pack(step, space.grads, out, offset);
  step.copy(loss, out, loss.byteLength, 0, (offset + 3 * n) * 4);
  model.forget(step);
  for (const [slot, sign] of [[1, 1], [2, -1]]) {
    space.axpy(step, space.values, v, sign * eps);
    recordLossGradient(step, model, batch, true);
    space.pack(step, space.grads, out, offset + slot * n);
    model.forget(step);
    space.copy(step, backup, space.values);
  }
}

/** Turns a probe's read-back floats into a ProbeBatch: v ⊙ (g₊ − g₋) / 2ε. */
function parseProbe(
  flat: Float32Array,
  offset: number,
  n: number,
  b: number,
  v: Float32Array,
  eps: number,
): ProbeBatch & { vHv: Float64Array } {
  const grad = flat.subarray(offset, offset + n);
  const vHv = new Float64Array(n);
  for (let i = 0; i < n; i++) vHv[i] = (v[i] * (flat[offset + n + i] - flat[offset + 2 * n + i])) / (2 * eps);
  let loss = 0;
  for (let i = 0; i < b; i++) loss += flat[offset + 3 * n + i];
  return { size: b, loss: loss / b, grad, vHv };
}

/**
 * One curvature probe on the GPU (for tests and diagnostics): the batch loss mean(wᵢℓᵢ), its gradient and
 * the finite-difference Hv, flat in `model.params` order. The model's parameters are left unchanged.
 */
export async function probeCurvature(
  model: Model,
  probe: { split: Split; rows: ArrayLike<number>; weights?: ArrayLike<number>; v: Float32Array; eps: number },
): Promise<{ loss: number; grad: Float32Array; hv: Float64Array }> {
  const { v, eps, ...batch } = probe;
  const space = new ParamSpace(model);
  if (v.length !== space.size) {
    throw new InvalidInputError(`probeCurvature: v has ${v.length} entries, the model ${space.size}`);
  }
  const [vt, backup] = [space.alloc("crest.v"), space.alloc("crest.backup")];
  space.write(vt, v);
  const b = uploadBatch(model, batch.split, batch.rows, batch.weights ?? null);
  const out = empty(model.gpu, [3 * space.size + batch.rows.length], "f32", "crest.probe");
  const step = new Step(model.gpu, "crest probe");
  recordProbe(step, model, space, { batch: b, v: vt, backup, out, offset: 0, eps });
  step.release(b.x, b.labels, b.weights);
  await step.submit();
  const flat = await out.read();
  out.dispose();
  space.free(vt, backup);
  space.dispose();
  const p = parseProbe(flat, 0, space.size, batch.rows.length, new Float32Array(space.size).fill(1), eps);
  return { loss: p.loss, grad: flat.slice(0, space.size), hv: p.vHv };
}

// ---------------------------------------------------------------------------------------------------
// The trainer

/** What an epoch reports: Trainer's metrics plus CREST's counters. */
export interface CrestEpochMetrics extends EpochMetrics {
  /** Selections so far. */
  selections: number;
  /** Training steps so far. */
  steps: number;
  /** τ checks so far. */
  checks: number;
  /** Seconds of this epoch spent selecting and fitting the quadratic model (inside `seconds`). */
  selectionSeconds: number;
}

/** A selection round. */
export interface CrestSelectionEvent {
  round: number;
  epoch: number;
  step: number;
  /** Entries of the pooled coreset (P · C · ⌈B/C⌉ at most). */
  size: number;
  /** P: random subsets drawn. */
  subsets: number;
  /** T₁ in force after this selection. */
  checkInterval: number;
  /** L₀ of the fitted quadratic model. */
  l0: number;
  seconds: number;
}

/** A τ check. */
export interface CrestCheckEvent {
  step: number;
  trueLoss: number;
  predicted: number;
  reselect: boolean;
}

/** Callbacks and cancellation of `CrestTrainer.fit`. */
export interface CrestFitOptions {
  signal?: AbortSignal;
  onEpoch?: (m: CrestEpochMetrics) => void | Promise<void>;
  onSelection?: (e: CrestSelectionEvent) => void;
  onCheck?: (e: CrestCheckEvent) => void;
}

/** What `fit` returns. */
export interface CrestResult {
  history: CrestEpochMetrics[];
  selections: number;
  steps: number;
  checks: number;
  selectionSeconds: number;
}

/** The pooled coreset as dataset rows (duplicates possible across subsets) and weights. */
interface PooledSamples {
  indices: Uint32Array;
  weights: Float32Array;
}

/**
 * Everything of a CREST run at an epoch boundary besides the model's parameters and momentum (which a
 * checkpoint holds): restored into a trainer built with the same model, data and config, the run goes on
 * exactly as if it had not stopped — same random subsets, coresets, probes, checks and steps.
 */
export interface CrestState {
  /** Epochs completed. */
  epoch: number;
  selections: number;
  steps: number;
  checks: number;
  /** The three random streams (subsets, batch order, probe vectors). */
  rng: { subsets: number[]; order: number[]; probes: number[] };
  /** Per-class rows still in play (all of them unless learned examples are dropped). */
  pool: Uint32Array[];
  /** AdaHessian moments of the quadratic fit. */
  moments: { m: Float64Array; s: Float64Array; t: number };
  /** Loss slots of the learned-example watch (dropLearned), else null. */
  watch: Float32Array | null;
  coreset: PooledSamples;
  order: Uint32Array;
  cursor: number;
  union: Uint32Array;
  quad: QuadraticModel | null;
  h0Norm: number;
  checkInterval: number;
  subsets: number;
  resetStep: number;
  /** δ since the last selection, flat over the parameters. */
  delta: Float32Array;
}

/** The loop's position (coreset, order, quadratic model, schedule), copied: `state()` and `restore()` share it. */
type LoopState = Pick<
  CrestState,
  "coreset" | "order" | "cursor" | "union" | "quad" | "h0Norm" | "checkInterval" | "subsets" | "resetStep"
>;

function copyLoop(s: LoopState): LoopState {
  return {
    coreset: { indices: s.coreset.indices.slice(), weights: s.coreset.weights.slice() },
    order: s.order.slice(),
    cursor: s.cursor,
    union: s.union.slice(),
    quad: s.quad ? { ...s.quad, g: s.quad.g.slice(), h: s.quad.h.slice() } : null,
    h0Norm: s.h0Norm,
    checkInterval: s.checkInterval,
    subsets: s.subsets,
    resetStep: s.resetStep,
  };
}

/** A CrestState as JSON-safe values (typed arrays as base64), for checkpoint headers. */
export function encodeCrestState(s: CrestState): Record<string, unknown> {
  const b = toBase64;
  return {
    ...s,
    pool: s.pool.map(b),
    moments: { m: b(s.moments.m), s: b(s.moments.s), t: s.moments.t },
    watch: s.watch ? b(s.watch) : null,
    coreset: { indices: b(s.coreset.indices), weights: b(s.coreset.weights) },
    order: b(s.order),
    union: b(s.union),
    quad: s.quad ? { ...s.quad, g: b(s.quad.g), h: b(s.quad.h) } : null,
    delta: b(s.delta),
  };
}

/** Inverse of `encodeCrestState`; a malformed value is an InvalidInputError. */
export function decodeCrestState(x: unknown): CrestState {
  try {
    // The shape encodeCrestState writes; anything else fails below (a missing field throws a TypeError).
    // deno-lint-ignore no-explicit-any
    const o = x as Record<string, any>;
    const u32 = (v: string) => new Uint32Array(fromBase64(v).buffer);
    const f32 = (v: string) => new Float32Array(fromBase64(v).buffer);
    const f64 = (v: string) => new Float64Array(fromBase64(v).buffer);
    const num = (v: unknown, what: string) => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${what} is not a number`);
      return v;
    };
    return {
      epoch: num(o.epoch, "epoch"),
      selections: num(o.selections, "selections"),
      steps: num(o.steps, "steps"),
      checks: num(o.checks, "checks"),
      rng: { subsets: o.rng.subsets, order: o.rng.order, probes: o.rng.probes },
      pool: (o.pool as string[]).map(u32),
      moments: { m: f64(o.moments.m), s: f64(o.moments.s), t: num(o.moments.t, "moments.t") },
      watch: o.watch === null ? null : f32(o.watch),
      coreset: { indices: u32(o.coreset.indices), weights: f32(o.coreset.weights) },
      order: u32(o.order),
      cursor: num(o.cursor, "cursor"),
      union: u32(o.union),
      quad: o.quad === null ? null : {
        l0: num(o.quad.l0, "quad.l0"),
        g: f64(o.quad.g),
        h: f64(o.quad.h),
        hNorm: num(o.quad.hNorm, "quad.hNorm"),
      },
      h0Norm: num(o.h0Norm, "h0Norm"),
      checkInterval: num(o.checkInterval, "checkInterval"),
      subsets: num(o.subsets, "subsets"),
      resetStep: num(o.resetStep, "resetStep"),
      delta: f32(o.delta),
    };
  } catch (e) {
    throw new InvalidInputError(`CREST state in the checkpoint is unreadable: ${(e as Error).message}`);
  }
}

/** Trains a model with CREST end to end (see the header). One `fit` per trainer. */
export class CrestTrainer {
  readonly model: Model;
  readonly gpu: Gpu;
  readonly config: CrestConfig;
  readonly train: Split;
  readonly test: Split | null;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  selections = 0;
  steps = 0;
  checks = 0;
  #evaluator: Trainer;
  #space: ParamSpace;
  #classes: Uint32Array[];
  #pool: Uint32Array[];
  #streams: { subsets: Rng; order: Rng; probes: Rng };
  #moments: HessianMoments;
  #watch: Float32Array | null;
  #state = {
    coreset: { indices: new Uint32Array(0), weights: new Float32Array(0) } as PooledSamples,
    order: new Uint32Array(0),
    cursor: 0,
    union: new Uint32Array(0),
    quad: null as QuadraticModel | null,
    h0Norm: 0,
    checkInterval: 1,
    subsets: 5,
    resetStep: 0,
  };
  /** δ = −Σ lr·∇ since the last selection, per parameter (GPU). */
  #delta: Tensor[];
  #fitted = false;
  /** Epochs completed (set by `restore`; `fit` starts after them). */
  #epochsDone = 0;

  constructor(model: Model, data: { train: Split; test?: Split }, config: Partial<CrestConfig> = {}) {
    this.model = model;
    this.gpu = model.gpu;
    this.config = { ...DEFAULT_CREST_CONFIG, ...config };
    checkConfig(this.config);
    this.train = data.train;
    this.test = data.test ?? null;
    this.#evaluator = new Trainer(model, data, {
      evalBatchSize: this.config.evalBatchSize,
      batchSize: this.config.batchSize,
    });
    const n = data.train.labels.length;
    this.stepsPerEpoch = crestStepsPerEpoch(n, this.config);
    this.totalSteps = this.config.epochs * this.stepsPerEpoch;
    this.#classes = classIndices(data.train.labels, model.spec.numClasses);
    this.#pool = [...this.#classes];
    const root = new Rng(this.config.seed);
    this.#streams = { subsets: root.fork(), order: root.fork(), probes: root.fork() };
    this.#space = new ParamSpace(model);
    this.#moments = new HessianMoments(this.#space.size, { ...this.config, eps: this.config.hessianEps });
    this.#watch = this.config.dropLearned ? new Float32Array(this.config.watchInterval * n).fill(-1) : null;
    this.#state.checkInterval = this.config.checkInterval;
    this.#state.subsets = this.config.initialSubsets;
    this.#delta = this.#space.alloc("crest.delta");
  }

  /** Trains for `config.epochs` epochs; throws `CancelledError` (after the step in flight) on abort. */
  async fit(opts: CrestFitOptions = {}): Promise<CrestResult> {
    if (this.#fitted) {
      throw new Error("CrestTrainer.fit: one fit per trainer (its GPU state is freed at the end)");
    }
    this.#fitted = true;
    const history: CrestEpochMetrics[] = [];
    let selectionSeconds = 0;
    try {
      for (let epoch = this.#epochsDone; epoch < this.config.epochs; epoch++) {
        const m = await this.#epoch(epoch, opts);
        this.#epochsDone = epoch + 1;
        selectionSeconds += m.selectionSeconds;
        history.push(m);
        await opts.onEpoch?.(m); // may take `state()` for a checkpoint
      }
    } finally {
      this.#space.free(this.#delta);
      this.#space.dispose();
    }
    return { history, selections: this.selections, steps: this.steps, checks: this.checks, selectionSeconds };
  }

  /** The run's state after the last completed epoch (call between epochs, e.g. from `onEpoch`). */
  async state(): Promise<CrestState> {
    const flat = empty(this.gpu, [this.#space.size], "f32", "crest.state.delta");
    try {
      const step = new Step(this.gpu, "crest state");
      this.#space.pack(step, this.#delta, flat, 0);
      await step.submit();
      const delta = await flat.read();
      return {
        epoch: this.#epochsDone,
        selections: this.selections,
        steps: this.steps,
        checks: this.checks,
        rng: {
          subsets: this.#streams.subsets.state(),
          order: this.#streams.order.state(),
          probes: this.#streams.probes.state(),
        },
        pool: this.#pool.map((p) => p.slice()),
        moments: { m: this.#moments.m.slice(), s: this.#moments.s.slice(), t: this.#moments.t },
        watch: this.#watch ? this.#watch.slice() : null,
        ...copyLoop(this.#state),
        delta,
      };
    } finally {
      flat.dispose();
    }
  }

  /**
   * Continues from `s` (taken by `state()` of a trainer with the same model, data and config, whose
   * parameters and momentum the caller has loaded into the model): `fit` then runs the remaining epochs.
   */
  restore(s: CrestState): void {
    if (this.#fitted) throw new Error("CrestTrainer.restore: call it before fit");
    const n = this.#space.size;
    const bad = (why: string) => new InvalidInputError(`CREST state does not fit this run: ${why}`);
    if (!(Number.isInteger(s.epoch) && s.epoch >= 0 && s.epoch <= this.config.epochs)) {
      throw bad(`epoch ${s.epoch} of ${this.config.epochs}`);
    }
    if (s.delta.length !== n || s.moments.m.length !== n || s.moments.s.length !== n) {
      throw bad(`parameter vectors of ${s.delta.length}, the model has ${n}`);
    }
    if (s.quad && (s.quad.g.length !== n || s.quad.h.length !== n)) throw bad("quadratic model size");
    if (s.pool.length !== this.#classes.length) throw bad(`${s.pool.length} class pools`);
    if (
      (s.watch === null) !== (this.#watch === null) || (s.watch && s.watch.length !== this.#watch!.length)
    ) {
      throw bad("the learned-example watch differs (dropLearned settings)");
    }
    const rows = this.train.labels.length;
    for (const a of [s.coreset.indices, s.union, ...s.pool]) {
      if (a.some((i) => i >= rows)) throw bad("rows past the training split");
    }
    this.#streams.subsets.setState(s.rng.subsets);
    this.#streams.order.setState(s.rng.order);
    this.#streams.probes.setState(s.rng.probes);
    this.#pool = s.pool.map((p) => p.slice());
    this.#moments.m.set(s.moments.m);
    this.#moments.s.set(s.moments.s);
    this.#moments.t = s.moments.t;
    if (this.#watch) this.#watch.set(s.watch!);
    Object.assign(this.#state, copyLoop(s));
    this.#space.write(this.#delta, s.delta);
    [this.selections, this.steps, this.checks, this.#epochsDone] = [s.selections, s.steps, s.checks, s.epoch];
  }

  async #epoch(epoch: number, opts: CrestFitOptions): Promise<CrestEpochMetrics> {
    const t0 = performance.now();
    const acc = tensor(this.gpu, new Float32Array(4), [4], "crest.epoch.metrics");
    let selectionSeconds = 0, lr = this.config.lr;
    try {
      for (let s = 0; s < this.stepsPerEpoch; s++) {
        throwIfAborted(opts.signal);
        const t = this.steps;
        const st = this.#state;
        if (t > st.resetStep && (t - st.resetStep) % st.checkInterval === 0 && await this.#check(t, opts)) {
          st.resetStep = t;
        }
        if (t === st.resetStep) selectionSeconds += await this.#select(epoch, t, opts);
        lr = learningRate(this.config.lr, this.config.schedule, t, this.totalSteps, this.stepsPerEpoch);
        await this.#trainStep(lr, acc);
      }
      const [l, , n] = await acc.read();
      const seconds = (performance.now() - t0) / 1000;
      const e0 = performance.now();
      const ev = await this.#evaluator.evaluate(this.test, opts.signal);
      return {
        epoch: epoch + 1,
        trainLoss: n > 0 ? l / n : NaN,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        seconds,
        evalSeconds: (performance.now() - e0) / 1000,
        samples: n,
        lr,
        selections: this.selections,
        steps: this.steps,
        checks: this.checks,
        selectionSeconds,
      };
    } finally {
      acc.dispose();
    }
  }

  /** Next batch of the pooled coreset: a seeded shuffle, cycled; the last batch of a pass may be short. */
  #nextBatch(): { rows: Uint32Array; weights: Float32Array } {
    const st = this.#state;
    if (st.cursor >= st.order.length) {
      st.order = this.#streams.order.shuffle(Uint32Array.from(st.coreset.indices, (_, i) => i));
      st.cursor = 0;
    }
    const pos = st.order.subarray(st.cursor, Math.min(st.order.length, st.cursor + this.config.batchSize));
    st.cursor += pos.length;
    return {
      rows: Uint32Array.from(pos, (p) => st.coreset.indices[p]),
      weights: Float32Array.from(pos, (p) => st.coreset.weights[p]),
    };
  }

  /** One SGD step on mean(wᵢℓᵢ); δ ← δ − lr·∇ (the raw batch gradient, decay excluded). */
  async #trainStep(lr: number, acc: Tensor): Promise<void> {
    const { rows, weights } = this.#nextBatch();
    const batch = uploadBatch(this.model, this.train, rows, weights);
    const step = new Step(this.gpu, `crest step ${this.steps}`);
    const { loss, logits } = recordLossGradient(step, this.model, batch, true);
    const c = this.config;
    this.model.update(step, { lr, momentum: c.momentum, weightDecay: c.weightDecay, nesterov: false });
    this.#space.axpy(step, this.#delta, this.#space.grads, -lr);
    encodeMetrics(step, { loss, logits, labels: batch.labels, weights: batch.weights }, acc);
    this.model.forget(step);
    step.release(batch.x, batch.labels, batch.weights);
    await step.submit();
    this.steps++;
    if (this.steps % SYNC_EVERY === 0) await this.gpu.device.queue.onSubmittedWorkDone();
  }

  /** The τ check: true loss on the union of the random subsets vs the quadratic model; one read-back. */
  async #check(t: number, opts: CrestFitOptions): Promise<boolean> {
    const st = this.#state;
    const n = this.#space.size;
    const out = empty(this.gpu, [n + 4], "f32", "crest.check"); // [δ (N), Σℓ, correct, count, Σw]
    const acc = tensor(this.gpu, new Float32Array(4), [4], "crest.check.acc");
    try {
      for (let r = 0; r < st.union.length; r += this.config.evalBatchSize) {
        throwIfAborted(opts.signal);
        const rows = st.union.subarray(r, r + this.config.evalBatchSize);
        await this.#evalBatch(rows, acc);
      }
      const step = new Step(this.gpu, "crest check");
      this.#space.pack(step, this.#delta, out, 0);
      step.copy(acc, out, 16, 0, n * 4);
      await step.submit();
      const flat = await out.read();
      const trueLoss = flat[n] / flat[n + 2];
      const predicted = quadraticPrediction(st.quad!, flat.subarray(0, n));
      const reselect = needsReselection({ trueLoss, predicted }, this.config.checkThreshold);
      this.checks++;
      opts.onCheck?.({ step: t, trueLoss, predicted, reselect });
      return reselect;
    } finally {
      out.dispose();
      acc.dispose();
    }
  }

  /** Forward-only, unit-weight CE of `rows` accumulated into acc ([Σℓ, correct, n, Σw]). */
  async #evalBatch(rows: Uint32Array, acc: Tensor): Promise<void> {
    const step = new Step(this.gpu, "crest eval");
    encodeEvalBatch(step, this.model, uploadBatch(this.model, this.train, rows, null), acc);
    await step.submit();
  }

  /** A selection round: random subsets → coresets → quadratic fit → schedule. Returns its seconds. */
  async #select(epoch: number, t: number, opts: CrestFitOptions): Promise<number> {
    const t0 = performance.now();
    const st = this.#state;
    const c = this.config;
    const numClasses = this.model.spec.numClasses;
    const perClass = poolSizePerClass(this.train.labels.length, { numClasses, poolFraction: c.poolFraction });
    const subsets = stratifiedSubsets(this.#pool, {
      perClass,
      count: st.subsets,
      rng: this.#streams.subsets,
    });
    const coresets = await this.#coresets(subsets, epoch, opts.signal);
    st.coreset = coresets;
    st.order = new Uint32Array(0);
    st.cursor = 0;
    st.union = Uint32Array.from(new Set(subsets.flat().flatMap((b) => [...b]))).sort();
    st.quad = await this.#fitQuadratic(opts.signal);
    this.#delta.forEach((d) => d.write(new Float32Array(d.size)));
    if (this.selections === 0) st.h0Norm = st.quad.hNorm;
    else {
      const next = nextCheckSchedule(st.h0Norm, st.quad.hNorm, { ...c, stepsPerEpoch: this.stepsPerEpoch });
      [st.checkInterval, st.subsets] = [next.checkInterval, next.subsets];
    }
    this.selections++;
    const seconds = (performance.now() - t0) / 1000;
    opts.onSelection?.({
      round: this.selections,
      epoch,
      step: t,
      size: coresets.indices.length,
      subsets: subsets.length,
      checkInterval: st.checkInterval,
      l0: st.quad.l0,
      seconds,
    });
    return seconds;
  }

  /** Extracts z for the subsets' rows, (optionally) records losses, and runs facility location per block. */
  async #coresets(subsets: Uint32Array[][], epoch: number, signal?: AbortSignal): Promise<PooledSamples> {
    const flat = Uint32Array.from(subsets.flat().flatMap((b) => [...b]));
    const blocks: Uint32Array[] = [];
    let off = 0;
    for (const b of subsets.flat()) {
      blocks.push(Uint32Array.from(b, (_, i) => off + i));
      off += b.length;
    }
    const ex = await extract(this.model, this.train, {
      indices: flat,
      batchSize: this.config.evalBatchSize,
      signal,
    });
    try {
      if (this.#watch) this.#dropLearned(epoch, flat, await ex.loss.read());
      const numClasses = this.model.spec.numClasses;
      const pooled = await miniBatchCoresets(ex.e, blocks, {
        perClass: Math.ceil(this.config.batchSize / numClasses),
        scale: numClasses,
        readbackBytes: this.config.readbackBytes,
        signal,
      });
      return { indices: Uint32Array.from(pooled.positions, (p) => flat[p]), weights: pooled.weights };
    } finally {
      ex.dispose();
    }
  }

  #dropLearned(epoch: number, rows: Uint32Array, losses: Float32Array): void {
    const c = this.config;
    const n = this.train.labels.length;
    recordLosses(this.#watch!, { n, slot: epoch % c.watchInterval, rows, losses });
    if ((epoch + 1) % c.dropInterval !== 0) return;
    this.#pool = updatePool(this.#watch!, {
      classes: this.#classes,
      old: this.#pool,
      n,
      slots: c.watchInterval,
      perClass: poolSizePerClass(n, { numClasses: this.model.spec.numClasses, poolFraction: c.poolFraction }),
      threshold: c.dropThreshold,
      minTrainSize: c.minTrainSize,
    });
  }

  /** Probes every coreset batch (shuffled, B each) and fits the quadratic model; grouped read-backs. */
  async #fitQuadratic(signal?: AbortSignal): Promise<QuadraticModel> {
    const st = this.#state;
    const order = this.#streams.order.shuffle(Uint32Array.from(st.coreset.indices, (_, i) => i));
    const B = this.config.batchSize;
    const batches: Uint32Array[] = [];
    for (let r = 0; r < order.length; r += B) batches.push(order.subarray(r, r + B));
    const n = this.#space.size;
    const perGroup = Math.max(1, Math.floor(this.config.readbackBytes / ((3 * n + B) * 4)));
    const probes: ProbeBatch[] = [];
    const [v, backup] = [this.#space.alloc("crest.v"), this.#space.alloc("crest.backup")];
    try {
      for (let g = 0; g < batches.length; g += perGroup) {
        throwIfAborted(signal);
        probes.push(...await this.#probeGroup(batches.slice(g, g + perGroup), v, backup));
      }
    } finally {
      this.#space.free(v, backup);
    }
    return fitQuadratic(this.#moments, probes);
  }

  /** Probes a group of batches, one step each, into one tensor read back once. */
  async #probeGroup(batches: Uint32Array[], v: Tensor[], backup: Tensor[]): Promise<ProbeBatch[]> {
    const n = this.#space.size;
    const st = this.#state;
    const eps = this.config.hvpEpsilon;
    const offsets = batches.map((_, i, a) => a.slice(0, i).reduce((s, b) => s + 3 * n + b.length, 0));
    const out = empty(this.gpu, [offsets.at(-1)! + 3 * n + batches.at(-1)!.length], "f32", "crest.probes");
    const vs: Float32Array[] = [];
    try {
      for (const [i, pos] of batches.entries()) {
        vs.push(rademacher(this.#streams.probes, n));
        this.#space.write(v, vs[i]);
        const rows = Uint32Array.from(pos, (p) => st.coreset.indices[p]);
        const batch = uploadBatch(
          this.model,
          this.train,
          rows,
          Float32Array.from(pos, (p) => st.coreset.weights[p]),
        );
        const step = new Step(this.gpu, "crest probe");
        recordProbe(step, this.model, this.#space, { batch, v, backup, out, offset: offsets[i], eps });
        step.release(batch.x, batch.labels, batch.weights);
        await step.submit();
      }
      const flat = await out.read();
      return batches.map((b, i) => parseProbe(flat, offsets[i], n, b.length, vs[i], eps));
    } finally {
      out.dispose();
    }
  }
}

function checkConfig(c: CrestConfig): void {
  const positive = [
    "epochs",
    "batchSize",
    "initialSubsets",
    "checkInterval",
    "watchInterval",
    "dropInterval",
  ] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new InvalidInputError(`crest: ${k} must be an integer ≥ 1, got ${c[k]}`);
    }
  }
  for (const k of ["trainFraction", "poolFraction"] as const) {
    if (!(c[k] > 0 && c[k] <= 1)) throw new InvalidInputError(`crest: ${k} must be in (0, 1], got ${c[k]}`);
  }
  if (!(c.hvpEpsilon > 0) || !(c.checkThreshold >= 0) || !(c.lr >= 0)) {
    throw new InvalidInputError("crest: hvpEpsilon must be > 0, checkThreshold and lr ≥ 0");
  }
}
