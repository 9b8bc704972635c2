/**
 * A training run with data selection, in-process: the protocol of algorithms.md ("Common training
 * protocol") for every strategy.
 * - full: every epoch on all samples.
 * - random, gradmatch, craig: `warmEpochs` full-data epochs, then a selection round every `selectEvery`
 *   epochs (features hᵢ, eᵢ extracted from the current model on the GPU, the strategy picks a weighted
 *   subset) and subset epochs with the weighted loss in between. Random is re-drawn each round unless
 *   `fixedRandom`.
 * - nfg: a separate warm-up model trains `nfg.warmEpochs` epochs (checkpoints ranked by neighbour counts),
 *   the subset is selected once, and a fresh model trains on it (its warm-up counts as selection time).
 * - crest: CREST's own loop (mini-batch coresets re-selected when the quadratic loss model fails);
 *   `epochs` are CREST epochs of ⌈budget·n / B⌉ steps.
 * Reports every epoch (with cumulative selection and training seconds) and every subset.
 */
import type { Gpu } from "../gpu/device.ts";
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import { buildModel, type ModelSpec } from "../nn/model.ts";
import { type BatchProgress, type EpochMetrics, type Split, type TrainConfig, Trainer } from "../nn/train.ts";
import { extract } from "../nn/extract.ts";
import { type Checkpoint, encodeCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { fromBase64, toBase64 } from "../util/base64.ts";
import { resolveBudget } from "../selection/budget.ts";
import { createStrategy, type StrategyName, type StrategyOptions } from "../selection/mod.ts";
import { NFG_FINAL_TRAIN_CONFIG, nfgSelect } from "../selection/nfg.ts";
import { CrestTrainer, decodeCrestState, encodeCrestState } from "../selection/crest.ts";
import type { Subset } from "../selection/types.ts";
import { randomSubset } from "../selection/random.ts";
import { Rng } from "../util/rng.ts";

/** When and how to select. */
export interface SelectionPlan extends StrategyOptions {
  strategy: StrategyName;
  /** A fraction in (0, 1) or a count. */
  budget: number | string;
  /** Re-select every R epochs (1 = every epoch) [5]. */
  selectEvery?: number;
  /** Full-data epochs before the first selection [0]. */
  warmEpochs?: number;
  /** Random: keep the first draw instead of re-drawing each round. */
  fixedRandom?: boolean;
  /** NFG: warm-up epochs of its ranking model [10]. */
  nfgWarmEpochs?: number;
}

/** An epoch as reported by a run. */
export interface RunEpoch extends EpochMetrics {
  /** Samples in the subset trained on this epoch. */
  subsetSize: number;
  /** Cumulative seconds spent selecting (extraction + strategy) and training, up to this epoch. */
  selectionSeconds: number;
  trainSeconds: number;
}

/** A selected subset. */
export interface RunSubset extends Subset {
  round: number;
  /** Epoch (1-based) whose training first uses it. */
  epoch: number;
  seconds: number;
  classCounts: number[];
}

export interface TrainingRunOptions {
  model: Omit<ModelSpec, "inputShape" | "numClasses">;
  data: { train: Split; test?: Split; inputShape: number[]; numClasses: number };
  train: Partial<TrainConfig> & { epochs: number };
  selection: SelectionPlan;
  signal?: AbortSignal;
  onEpoch?: (e: RunEpoch) => void | Promise<void>;
  onSubset?: (s: RunSubset) => void | Promise<void>;
  onBatch?: (p: BatchProgress) => void;
  /** Selection progress (extraction, strategy units). */
  onProgress?: (phase: string, done: number, total: number, note?: string) => void;
  /** Save model and optimiser state (and the strategy's, for CREST) here after every epoch. */
  checkpoint?: string;
  /**
   * Receives the checkpoint bytes after every epoch, after `onEpoch` has recorded it; a run given them back
   * as `resume` continues after that epoch as if it had not stopped. The order matters to a run killed
   * between the two: its last checkpoint then never covers an epoch whose record was not written (that
   * epoch is trained again from the previous checkpoint and recorded again; its live event may repeat).
   */
  onCheckpoint?: (bytes: Uint8Array, epoch: number) => Promise<void>;
  /** Continue from this checkpoint (taken by this same run configuration). */
  resume?: Checkpoint;
  /** Train every epoch on this subset (strategy must be "full": nothing is selected). */
  fixedSubset?: Subset;
}

export interface TrainingRunResult {
  history: RunEpoch[];
  subsets: RunSubset[];
  selectionSeconds: number;
  trainSeconds: number;
  finalAccuracy: number;
}

function classCounts(labels: Uint32Array, indices: Uint32Array, c: number): number[] {
  const out = new Array(c).fill(0);
  for (const i of indices) out[labels[i]]++;
  return out;
}

/** Runs a training with selection; throws `CancelledError` when `signal` fires. */
export async function runTraining(gpu: Gpu, opts: TrainingRunOptions): Promise<TrainingRunResult> {
  const { data, selection: plan } = opts;
  const n = data.train.labels.length;
  const k = plan.strategy === "full" ? n : resolveBudget(plan.budget, n);
  const spec: ModelSpec = { ...opts.model, inputShape: data.inputShape, numClasses: data.numClasses };
  if (plan.strategy === "crest") return await runCrest(gpu, spec, opts, k);
  const result: TrainingRunResult = {
    history: [],
    subsets: [],
    selectionSeconds: 0,
    trainSeconds: 0,
    finalAccuracy: NaN,
  };
  let subset: Subset | null = opts.fixedSubset ?? null;
  if (subset && plan.strategy !== "full") {
    throw new InvalidInputError("a fixed subset cannot be combined with a strategy");
  }
  const resumed = opts.resume ? resumeState(opts.resume) : null;
  if (resumed) {
    subset = resumed.subset ?? subset;
    result.selectionSeconds = resumed.selectionSeconds;
    result.trainSeconds = resumed.trainSeconds;
  }
  let trainConfig = opts.train;
  if (plan.strategy === "nfg" && resumed) {
    trainConfig = { ...NFG_FINAL_TRAIN_CONFIG, ...opts.train };
  } else if (plan.strategy === "nfg") {
    const t0 = performance.now();
    const r = await nfgSelect(gpu, {
      model: spec,
      train: data.train,
      budget: k,
      config: plan.nfgWarmEpochs !== undefined
        ? { warmEpochs: plan.nfgWarmEpochs, radius: plan.radius }
        : { radius: plan.radius },
      signal: opts.signal,
      progress: (d, t, note) => opts.onProgress?.("nfg", d, t, note),
    });
    subset = r.subset;
    trainConfig = { ...NFG_FINAL_TRAIN_CONFIG, ...opts.train };
    await record(result, opts, data, { ...subset, round: 0, epoch: 1 }, (performance.now() - t0) / 1000);
  }
  const model = buildModel(gpu, spec);
  try {
    const trainer = new Trainer(model, { train: data.train, test: data.test }, trainConfig);
    const epochs = trainer.config.epochs;
    const warm = plan.strategy === "full" || plan.strategy === "nfg"
      ? 0
      : Math.min(plan.warmEpochs ?? 0, epochs);
    const every = plan.selectEvery ?? 5;
    if (!(every >= 1)) throw new InvalidInputError(`selectEvery must be ≥ 1, got ${every}`);
    const subsetEpochSteps = trainer.stepsPerEpoch(
      subset ? subset.indices.length : plan.strategy === "full" ? n : k,
    );
    const totalSteps = warm * trainer.stepsPerEpoch(n) + (epochs - warm) * subsetEpochSteps;
    const strategy = plan.strategy === "full" || plan.strategy === "nfg"
      ? null
      : createStrategy(plan.strategy, plan);
    const rng = new Rng(trainer.config.seed * 31 + 7);
    const selects = (epoch: number) =>
      strategy !== null && epoch >= warm && (epoch - warm) % every === 0 && !(plan.fixedRandom && subset);
    let start = 0;
    if (resumed) {
      start = resumed.position.epoch;
      model.load(opts.resume!.state);
      trainer.stepsDone = resumed.position.stepsDone;
      // Replay the selection rounds' draws on the round generator, so later rounds draw as they would have.
      for (let epoch = 0; epoch < start; epoch++) if (selects(epoch)) rng.fork();
    }
    for (let epoch = start; epoch < epochs; epoch++) {
      throwIfAborted(opts.signal);
      const round = Math.floor((epoch - warm) / every);
      if (strategy && selects(epoch)) {
        const t0 = performance.now();
        subset = await selectRound(gpu, model, data, strategy, k, rng, opts);
        await record(
          result,
          opts,
          data,
          { ...subset, round, epoch: epoch + 1 },
          (performance.now() - t0) / 1000,
        );
      }
      const active = epoch < warm ? null : subset;
      const t = await trainer.trainEpoch(epoch, active, {
        totalSteps,
        signal: opts.signal,
        onBatch: opts.onBatch,
      });
      const ev = await trainer.evaluate(data.test ?? null, opts.signal);
      result.trainSeconds += t.seconds;
      const e: RunEpoch = {
        epoch: epoch + 1,
        trainLoss: t.trainLoss,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        seconds: t.seconds,
        evalSeconds: 0,
        samples: t.samples,
        lr: t.lr,
        subsetSize: active ? active.indices.length : n,
        selectionSeconds: result.selectionSeconds,
        trainSeconds: result.trainSeconds,
      };
      result.history.push(e);
      result.finalAccuracy = ev.accuracy;
      const position = {
        epoch: epoch + 1,
        stepsDone: trainer.stepsDone,
        extra: resumeExtra(subset, result),
      };
      await opts.onEpoch?.(e);
      if (opts.checkpoint) await saveCheckpoint(opts.checkpoint, model, position);
      if (opts.onCheckpoint) await opts.onCheckpoint(await encodeCheckpoint(model, position), epoch + 1);
    }
    return result;
  } finally {
    model.dispose();
  }
}

interface ResumeExtra {
  selectionSeconds: number;
  trainSeconds: number;
  /** The subset in use (base64 of the index and weight arrays). */
  subset?: { indices: string; weights: string };
}

function resumeExtra(subset: Subset | null, r: TrainingRunResult): Record<string, unknown> {
  const extra: ResumeExtra = { selectionSeconds: r.selectionSeconds, trainSeconds: r.trainSeconds };
  if (subset) extra.subset = { indices: toBase64(subset.indices), weights: toBase64(subset.weights) };
  return extra as unknown as Record<string, unknown>;
}

function resumeState(ck: Checkpoint) {
  const extra = (ck.position.extra ?? {}) as Partial<ResumeExtra>;
  const s = extra.subset;
  return {
    position: ck.position,
    selectionSeconds: extra.selectionSeconds ?? 0,
    trainSeconds: extra.trainSeconds ?? 0,
    subset: s
      ? {
        indices: new Uint32Array(fromBase64(s.indices).buffer),
        weights: new Float32Array(fromBase64(s.weights).buffer),
      }
      : null,
  };
}

/** One selection round: extract features of every training sample, run the strategy. */
async function selectRound(
  gpu: Gpu,
  model: ReturnType<typeof buildModel>,
  data: TrainingRunOptions["data"],
  strategy: ReturnType<typeof createStrategy>,
  k: number,
  rng: Rng,
  opts: TrainingRunOptions,
): Promise<Subset> {
  const context = {
    gpu,
    labels: data.train.labels,
    numClasses: data.numClasses,
    budget: k,
    rng: rng.fork(),
    signal: opts.signal,
    progress: (d: number, t: number, note?: string) => opts.onProgress?.(strategy.name, d, t, note),
  };
  // Random needs no features: no extraction pass.
  if (strategy.name === "random") return randomSubset(data.train.labels.length, k, context.rng);
  const ex = await extract(model, data.train, {
    signal: opts.signal,
    progress: (d, t) => opts.onProgress?.("extract", d, t),
  });
  try {
    return await strategy.select({
      ...context,
      features: { kind: "factored", e: ex.e, h: ex.h, bias: true },
    });
  } finally {
    ex.dispose();
  }
}

async function record(
  result: TrainingRunResult,
  opts: TrainingRunOptions,
  data: TrainingRunOptions["data"],
  s: Subset & { round: number; epoch: number },
  seconds: number,
): Promise<void> {
  result.selectionSeconds += seconds;
  const rs: RunSubset = {
    ...s,
    seconds,
    classCounts: classCounts(data.train.labels, s.indices, data.numClasses),
  };
  result.subsets.push(rs);
  await opts.onSubset?.(rs);
}

/**
 * CREST: its own loop; budget k/n is its fraction of steps. Checkpoints (file and `onCheckpoint`) carry
 * CREST's own state beside the model's (`CrestTrainer.state`), so a resumed run goes on exactly.
 */
async function runCrest(
  gpu: Gpu,
  spec: ModelSpec,
  opts: TrainingRunOptions,
  k: number,
): Promise<TrainingRunResult> {
  const { data } = opts;
  const n = data.train.labels.length;
  const model = buildModel(gpu, spec);
  const result: TrainingRunResult = {
    history: [],
    subsets: [],
    selectionSeconds: 0,
    trainSeconds: 0,
    finalAccuracy: NaN,
  };
  try {
    const crest = new CrestTrainer(model, { train: data.train, test: data.test }, {
      epochs: opts.train.epochs,
      batchSize: opts.train.batchSize ?? 128,
      lr: opts.train.lr ?? 0.05,
      momentum: opts.train.momentum ?? 0.9,
      weightDecay: opts.train.weightDecay ?? 5e-4,
      schedule: opts.train.schedule ?? { kind: "cosine" },
      seed: opts.train.seed ?? spec.seed,
      trainFraction: k / n,
    });
    if (opts.resume) {
      const extra = (opts.resume.position.extra ?? {}) as Partial<ResumeExtra> & { crest?: unknown };
      if (extra.crest === undefined) {
        throw new InvalidInputError("the checkpoint holds no CREST state (taken by another strategy?)");
      }
      model.load(opts.resume.state);
      crest.restore(decodeCrestState(extra.crest));
      result.selectionSeconds = extra.selectionSeconds ?? 0;
      result.trainSeconds = extra.trainSeconds ?? 0;
    }
    await crest.fit({
      signal: opts.signal,
      onSelection: (s) => {
        const rs: RunSubset = {
          indices: new Uint32Array(0),
          weights: new Float32Array(0),
          round: s.round - 1, // CREST counts its selections from 1
          epoch: s.epoch + 1,
          seconds: s.seconds,
          classCounts: [],
        };
        result.subsets.push(rs);
        void opts.onSubset?.(rs);
      },
      onEpoch: async (m) => {
        result.selectionSeconds += m.selectionSeconds;
        result.trainSeconds += m.seconds - m.selectionSeconds;
        const e: RunEpoch = {
          ...m,
          subsetSize: Math.round(m.samples),
          selectionSeconds: result.selectionSeconds,
          trainSeconds: result.trainSeconds,
        };
        result.history.push(e);
        result.finalAccuracy = m.testAccuracy;
        await opts.onEpoch?.(e);
        if (opts.checkpoint || opts.onCheckpoint) {
          const position = {
            epoch: m.epoch,
            stepsDone: crest.steps,
            extra: { ...resumeExtra(null, result), crest: encodeCrestState(await crest.state()) },
          };
          if (opts.checkpoint) await saveCheckpoint(opts.checkpoint, model, position);
          if (opts.onCheckpoint) await opts.onCheckpoint(await encodeCheckpoint(model, position), m.epoch);
        }
      },
    });
    return result;
  } finally {
    model.dispose();
  }
}
