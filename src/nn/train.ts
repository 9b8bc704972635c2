/**
 * The epoch loop: trains a model on the full training split or on a weighted subset {indices, weights},
 * evaluates on the test split after every epoch, reports through callbacks, and stops cleanly (after the
 * batch in flight) when its AbortSignal fires. Batches are assembled on the CPU from the shuffled subset
 * (seeded per epoch, so a resumed run sees the same order) and uploaded; everything else — forward,
 * loss, backward, SGD, metrics — runs on the GPU, and only the per-epoch totals are read back.
 */
import type { Gpu } from "../gpu/device.ts";
import { Step } from "../gpu/step.ts";
import { type Tensor, tensor } from "../gpu/tensor.ts";
import { encodeMetrics } from "../gpu/ops/metrics.ts";
import { encodeCrossEntropy } from "../gpu/ops/cross_entropy.ts";
import { empty } from "../gpu/tensor.ts";
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import { Rng } from "../util/rng.ts";
import type { Batch, Model } from "./model.ts";
import { learningRate, type Schedule } from "./schedule.ts";

/** One split of a dataset in memory: n rows of `features` (n × prod(inputShape)) and labels. */
export interface Split {
  features: Float32Array;
  labels: Uint32Array;
}

/** A weighted subset of the training split: sorted unique indices and positive weights. */
export interface WeightedSubset {
  indices: Uint32Array;
  weights: Float32Array;
}

/** Hyper-parameters of training (defaults as in the CORDS/GRAD-MATCH protocol, scaled to small models). */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: Schedule;
  seed: number;
  /** Rows per evaluation batch (forward only). */
  evalBatchSize: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 10,
  batchSize: 128,
  lr: 0.05,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  schedule: { kind: "cosine" },
  seed: 0,
  evalBatchSize: 256,
};

/** What an epoch reports. */
export interface EpochMetrics {
  epoch: number;
  /** Σ wᵢℓᵢ / Σ wᵢ over the epoch's training batches. */
  trainLoss: number;
  testLoss: number;
  testAccuracy: number;
  /** Wall seconds of this epoch's training (evaluation excluded). */
  seconds: number;
  evalSeconds: number;
  /** Samples trained on this epoch. */
  samples: number;
  lr: number;
}

/** Progress inside an epoch (for progress bars). */
export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** Running mean training loss, refreshed every few batches. */
  loss: number;
  samplesPerSecond: number;
}

/** Accuracy and loss of a model on a split. */
export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
}

/**
 * Batches submitted between waits for the GPU: bounds the queue without stalling every step. Each wait
 * costs ~10 ms in Deno whatever the work (bench/RESULTS.md), so 32 (≈ 0.3 ms a batch) rather than 8.
 */
export const SYNC_EVERY = 32;
/** Batches between progress read-backs (16 bytes each). */
const PROGRESS_EVERY = 20;

/** Validates a subset against a split of `n` rows. */
export function checkSubset(subset: WeightedSubset, n: number): void {
  if (subset.indices.length !== subset.weights.length) {
    throw new InvalidInputError(
      `subset has ${subset.indices.length} indices but ${subset.weights.length} weights`,
    );
  }
  if (subset.indices.length === 0) throw new InvalidInputError("subset is empty");
  for (let i = 0; i < subset.indices.length; i++) {
    const idx = subset.indices[i];
    if (idx >= n) {
      throw new InvalidInputError(`subset index ${idx} (position ${i}) is out of range (n = ${n})`);
    }
    const w = subset.weights[i];
    if (!(w > 0) || !Number.isFinite(w)) {
      throw new InvalidInputError(`subset weight ${w} at position ${i} is not a positive finite number`);
    }
  }
}

/** Uploads rows `rows` of a split, with weights (1 when null), as a batch; Σ w is computed here. */
export function uploadBatch(
  model: Model,
  split: Split,
  rows: ArrayLike<number>,
  weights: ArrayLike<number> | null,
): Batch {
  const d = model.spec.inputShape.reduce((a, b) => a * b, 1);
  const b = rows.length;
  const x = new Float32Array(b * d);
  const y = new Uint32Array(b);
  const w = new Float32Array(b);
  let weightSum = 0;
  for (let i = 0; i < b; i++) {
    const r = rows[i];
    x.set(split.features.subarray(r * d, (r + 1) * d), i * d);
    y[i] = split.labels[r];
    w[i] = weights ? weights[i] : 1;
    weightSum += w[i];
  }
  return {
    x: tensor(model.gpu, x, [b, ...model.spec.inputShape], "batch.x"),
    labels: tensor(model.gpu, y, [b], "batch.labels"),
    weights: tensor(model.gpu, w, [b], "batch.weights"),
    weightSum,
  };
}

/**
 * Records a forward-only pass of `batch` whose per-sample weighted CE, correct count, size and weight sum
 * accumulate into `acc` (4) f32; releases the batch and everything else once `step` is submitted.
 */
export function encodeEvalBatch(step: Step, model: Model, batch: Batch, acc: Tensor): void {
  const n = batch.x.shape[0];
  const { logits } = model.forward(step, batch.x, false);
  const loss = empty(step.gpu, [n], "f32", "eval.loss");
  const dlogits = empty(step.gpu, logits.shape, "f32", "eval.dlogits");
  encodeCrossEntropy(step, { logits, labels: batch.labels, weights: batch.weights }, { loss, dlogits });
  encodeMetrics(step, { loss, logits, labels: batch.labels, weights: batch.weights }, acc);
  model.forget(step);
  step.release(batch.x, batch.labels, batch.weights, loss, dlogits);
}

/** Trains `model` on `train` (or a subset of it) and evaluates on `test`. */
export class Trainer {
  readonly model: Model;
  readonly gpu: Gpu;
  readonly config: TrainConfig;
  readonly train: Split;
  readonly test: Split | null;
  readonly featureSize: number;
  /** Steps taken so far (drives the schedule). */
  stepsDone = 0;

  constructor(model: Model, data: { train: Split; test?: Split }, config: Partial<TrainConfig> = {}) {
    this.model = model;
    this.gpu = model.gpu;
    this.config = { ...DEFAULT_TRAIN_CONFIG, ...config };
    this.train = data.train;
    this.test = data.test ?? null;
    this.featureSize = model.spec.inputShape.reduce((a, b) => a * b, 1);
    for (const [name, split] of Object.entries({ train: data.train, test: data.test })) {
      if (split && split.features.length !== split.labels.length * this.featureSize) {
        throw new InvalidInputError(
          `${name} split: ${split.features.length} feature values for ${split.labels.length} labels ` +
            `of ${this.featureSize} features each`,
        );
      }
    }
    if (!(this.config.batchSize >= 1)) throw new InvalidInputError("batch size must be ≥ 1");
  }

  /** Training steps in one epoch over `size` samples. */
  stepsPerEpoch(size: number): number {
    return Math.ceil(size / this.config.batchSize);
  }

  /**
   * One epoch over `subset` (the whole training split when null), in a seeded shuffled order.
   * `totalSteps` is the schedule's horizon.
   */
  async trainEpoch(
    epoch: number,
    subset: WeightedSubset | null,
    opts: { totalSteps: number; signal?: AbortSignal; onBatch?: (p: BatchProgress) => void },
  ): Promise<{ trainLoss: number; samples: number; seconds: number; lr: number }> {
    const t0 = performance.now();
    const size = subset ? subset.indices.length : this.train.labels.length;
    if (subset) checkSubset(subset, this.train.labels.length);
    const order = new Uint32Array(size).map((_, i) => i);
    new Rng(this.config.seed * 7919 + epoch).shuffle(order);
    const bs = this.config.batchSize;
    const batches = this.stepsPerEpoch(size);
    const acc = tensor(this.gpu, new Float32Array(4), [4], "epoch.metrics");
    const perEpoch = this.stepsPerEpoch(size);
    let lr = this.config.lr;
    try {
      for (let bi = 0; bi < batches; bi++) {
        throwIfAborted(opts.signal);
        const pos = order.subarray(bi * bs, Math.min(size, (bi + 1) * bs));
        const rows = subset ? Array.from(pos, (p) => subset.indices[p]) : pos;
        const weights = subset ? Array.from(pos, (p) => subset.weights[p]) : null;
        const batch = uploadBatch(this.model, this.train, rows, weights);
        lr = learningRate(this.config.lr, this.config.schedule, this.stepsDone, opts.totalSteps, perEpoch);
        const step = new Step(this.gpu, `train e${epoch} b${bi}`);
        const { loss, logits } = this.model.trainStep(step, batch, {
          lr,
          momentum: this.config.momentum,
          weightDecay: this.config.weightDecay,
          nesterov: this.config.nesterov,
        });
        encodeMetrics(step, { loss, logits, labels: batch.labels, weights: batch.weights }, acc);
        this.model.forget(step);
        step.release(batch.x, batch.labels, batch.weights);
        await step.submit();
        this.stepsDone++;
        if (bi % SYNC_EVERY === SYNC_EVERY - 1) await this.gpu.device.queue.onSubmittedWorkDone();
        if (opts.onBatch && (bi % PROGRESS_EVERY === PROGRESS_EVERY - 1 || bi === batches - 1)) {
          const [l, , n, w] = await acc.read();
          const secs = (performance.now() - t0) / 1000;
          opts.onBatch({
            epoch,
            batch: bi + 1,
            batches,
            loss: w > 0 ? l / w : 0,
            samplesPerSecond: n / secs,
          });
        }
      }
      const [l, , n, w] = await acc.read();
      return { trainLoss: w > 0 ? l / w : 0, samples: n, seconds: (performance.now() - t0) / 1000, lr };
    } finally {
      acc.dispose();
    }
  }

  /** Mean loss and accuracy on a split (the test split by default), forward only. */
  async evaluate(split: Split | null = this.test, signal?: AbortSignal): Promise<Evaluation> {
    if (!split || split.labels.length === 0) return { loss: NaN, accuracy: NaN, samples: 0 };
    const n = split.labels.length;
    const acc = tensor(this.gpu, new Float32Array(4), [4], "eval.metrics");
    try {
      for (let r = 0; r < n; r += this.config.evalBatchSize) {
        throwIfAborted(signal);
        const rows = new Uint32Array(Math.min(this.config.evalBatchSize, n - r)).map((_, i) => r + i);
        const batch = uploadBatch(this.model, split, rows, null);
        const step = new Step(this.gpu, "evaluate");
        encodeEvalBatch(step, this.model, batch, acc);
        await step.submit();
      }
      const [l, correct, count] = await acc.read();
      return { loss: l / count, accuracy: correct / count, samples: count };
    } finally {
      acc.dispose();
    }
  }

  /**
   * Trains for `config.epochs` epochs from `startEpoch`, on a fixed subset or the full split, evaluating
   * after each epoch. Throws `CancelledError` (after the batch in flight) when `signal` fires.
   */
  async fit(opts: {
    subset?: WeightedSubset | null;
    startEpoch?: number;
    /** Stop before this epoch (default: config.epochs); the schedule still spans config.epochs. */
    endEpoch?: number;
    signal?: AbortSignal;
    onEpoch?: (m: EpochMetrics) => void | Promise<void>;
    onBatch?: (p: BatchProgress) => void;
  } = {}): Promise<EpochMetrics[]> {
    const size = opts.subset ? opts.subset.indices.length : this.train.labels.length;
    const totalSteps = this.config.epochs * this.stepsPerEpoch(size);
    const start = opts.startEpoch ?? 0;
    this.stepsDone = start * this.stepsPerEpoch(size);
    const history: EpochMetrics[] = [];
    for (let epoch = start; epoch < (opts.endEpoch ?? this.config.epochs); epoch++) {
      const t = await this.trainEpoch(epoch, opts.subset ?? null, {
        totalSteps,
        signal: opts.signal,
        onBatch: opts.onBatch,
      });
      const e0 = performance.now();
      const ev = await this.evaluate(this.test, opts.signal);
      const m: EpochMetrics = {
        epoch: epoch + 1,
        trainLoss: t.trainLoss,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        seconds: t.seconds,
        evalSeconds: (performance.now() - e0) / 1000,
        samples: t.samples,
        lr: t.lr,
      };
      history.push(m);
      await opts.onEpoch?.(m);
    }
    return history;
  }
}
