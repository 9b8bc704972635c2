/**
 * A selection run: one subset, no training on it. The model whose features the strategy sees is a
 * freshly initialised one (seeded), trained for `warmEpochs` full-data epochs first (default 0) —
 * the same features a training run's first selection round would see after the same warm-up. NFG
 * trains its own ranking model (`nfgWarmEpochs`), as in training runs; random needs no model.
 */
import type { Gpu } from "../gpu/device.ts";
import { buildModel, type ModelSpec } from "../nn/model.ts";
import { type Split, type TrainConfig, Trainer } from "../nn/train.ts";
import { extract } from "../nn/extract.ts";
import { classIndices } from "../selection/budget.ts";
import { createStrategy, type StrategyName } from "../selection/mod.ts";
import { nfgSelect } from "../selection/nfg.ts";
import { randomSubset } from "../selection/random.ts";
import type { GradMatchMode } from "../selection/grad_match.ts";
import type { Subset } from "../selection/types.ts";
import { throwIfAborted } from "../errors.ts";
import { Rng } from "../util/rng.ts";
import type { RunSubset } from "./training.ts";

export interface SelectOnceOptions {
  model: ModelSpec;
  train: Split;
  strategy: StrategyName;
  /** Resolved count, 1 … n. */
  budget: number;
  warmEpochs: number;
  trainConfig: Partial<TrainConfig>;
  lambda?: number;
  mode?: GradMatchMode;
  nfgWarmEpochs?: number;
  signal?: AbortSignal;
  onProgress?: (phase: string, done: number, total: number) => void;
}

/** Selects one subset (round 0, epoch 0). */
export async function selectOnce(gpu: Gpu, opts: SelectOnceOptions): Promise<RunSubset> {
  const t0 = performance.now();
  const subset = await pick(gpu, opts);
  const counts = classIndices(opts.train.labels, opts.model.numClasses).map(() => 0);
  for (const i of subset.indices) counts[opts.train.labels[i]]++;
  return { ...subset, round: 0, epoch: 0, seconds: (performance.now() - t0) / 1000, classCounts: counts };
}

async function pick(gpu: Gpu, opts: SelectOnceOptions): Promise<Subset> {
  const n = opts.train.labels.length;
  const rng = new Rng((opts.trainConfig.seed ?? opts.model.seed) * 31 + 7).fork();
  if (opts.strategy === "random") return randomSubset(n, opts.budget, rng);
  if (opts.strategy === "full") {
    return { indices: Uint32Array.from({ length: n }, (_, i) => i), weights: new Float32Array(n).fill(1) };
  }
  if (opts.strategy === "nfg") {
    const r = await nfgSelect(gpu, {
      model: opts.model,
      train: opts.train,
      budget: opts.budget,
      config: opts.nfgWarmEpochs !== undefined ? { warmEpochs: opts.nfgWarmEpochs } : {},
      signal: opts.signal,
      progress: (d, t) => opts.onProgress?.("nfg", d, t),
    });
    return r.subset;
  }
  const model = buildModel(gpu, opts.model);
  try {
    const trainer = new Trainer(model, { train: opts.train }, {
      ...opts.trainConfig,
      epochs: opts.warmEpochs,
    });
    const steps = opts.warmEpochs * trainer.stepsPerEpoch(n);
    for (let epoch = 0; epoch < opts.warmEpochs; epoch++) {
      await trainer.trainEpoch(epoch, null, { totalSteps: steps, signal: opts.signal });
      opts.onProgress?.("warm-up", epoch + 1, opts.warmEpochs);
    }
    throwIfAborted(opts.signal);
    const ex = await extract(model, opts.train, {
      signal: opts.signal,
      progress: (d, t) => opts.onProgress?.("extract", d, t),
    });
    try {
      const strategy = createStrategy(opts.strategy, { lambda: opts.lambda, mode: opts.mode });
      return await strategy.select({
        gpu,
        features: { kind: "factored", e: ex.e, h: ex.h, bias: true },
        labels: opts.train.labels,
        numClasses: opts.model.numClasses,
        budget: opts.budget,
        rng,
        signal: opts.signal,
        progress: (d, t) => opts.onProgress?.(opts.strategy, d, t),
      });
    } finally {
      ex.dispose();
    }
  } finally {
    model.dispose();
  }
}
