/**
 * `gradsift train`: trains a model on a dataset from the store (built-ins are imported on first use),
 * on the full training split or a weighted subset file, with a progress bar and a summary; `--json`
 * prints one JSON object per epoch and a final one instead.
 */
import { parseArgs } from "node:util";
import { openDataset } from "../data/builtin.ts";
import { InvalidInputError } from "../errors.ts";
import { acquireGpu } from "../gpu/device.ts";
import { channelsLastShape, type ModelKind, toChannelsLast } from "../nn/model.ts";
import { parseSchedule } from "../nn/schedule.ts";
import type { Split, WeightedSubset } from "../nn/train.ts";
import { runTraining } from "../runs/training.ts";
import { parseStrategy } from "../selection/mod.ts";
import type { GradMatchMode } from "../selection/grad_match.ts";
import { ProgressBar } from "./progress.ts";

export const TRAIN_USAGE = `usage: gradsift train [options]
  --dataset NAME       dataset in the store, or a built-in: fashion-mnist [fashion-mnist]
  --model mlp|cnn      architecture [mlp]
  --epochs N           epochs [10]
  --batch-size N       [128]
  --lr X               base learning rate [0.05]
  --momentum X         [0.9]   --no-nesterov to use plain momentum
  --weight-decay X     [5e-4]
  --schedule S         cosine | constant | step:EVERY:GAMMA [cosine]
  --subset FILE        train on a fixed weighted subset: JSON {indices, weights} (e.g. from gradsift select)
  --strategy S         full | random | gradmatch | craig | crest | nfg [full]
  --budget B           subset size: a fraction, a percentage or a count [0.1]
  --select-every R     re-select every R epochs [5]
  --warm-epochs W      full-data epochs before the first selection [0]
  --fixed-random       random: keep the first draw instead of re-drawing at every round
  --lambda X           GRAD-MATCH ridge λ [0.5]
  --mode M             GRAD-MATCH per-class | per-batch | whole [per-class]
  --limit N            use only the first N training samples (quick trials)
  --seed S             [0]
  --checkpoint FILE    save model + optimiser state there after every epoch
  --json               one JSON object per epoch and a final one, one per line`;

/** Parses a positive integer option. */
export function intOption(name: string, v: string | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new InvalidInputError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  }
  return n;
}

/** Parses a finite number option. */
export function numOption(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidInputError(`--${name} must be a number ≥ 0, got "${v}"`);
  return n;
}

/** Reads a subset JSON file {indices, weights?}. */
export async function readSubsetFile(path: string): Promise<WeightedSubset> {
  let parsed: { indices?: unknown; weights?: unknown };
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InvalidInputError(
      `subset file ${path}: ${e instanceof Deno.errors.NotFound ? "not found" : e}`,
    );
  }
  if (!Array.isArray(parsed.indices)) {
    throw new InvalidInputError(`subset file ${path}: "indices" must be an array`);
  }
  const indices = Uint32Array.from(parsed.indices as number[]);
  const weights = Array.isArray(parsed.weights)
    ? Float32Array.from(parsed.weights as number[])
    : new Float32Array(indices.length).fill(1);
  return { indices, weights };
}

function limitSplit(s: Split, n: number, featureSize: number): Split {
  return { features: s.features.subarray(0, n * featureSize), labels: s.labels.subarray(0, n) };
}

export async function trainCommand(args: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args,
    options: {
      dataset: { type: "string", default: "fashion-mnist" },
      model: { type: "string", default: "mlp" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      momentum: { type: "string" },
      "no-nesterov": { type: "boolean", default: false },
      "weight-decay": { type: "string" },
      schedule: { type: "string", default: "cosine" },
      subset: { type: "string" },
      strategy: { type: "string", default: "full" },
      budget: { type: "string", default: "0.1" },
      "select-every": { type: "string" },
      "warm-epochs": { type: "string" },
      "fixed-random": { type: "boolean", default: false },
      lambda: { type: "string" },
      mode: { type: "string" },
      limit: { type: "string" },
      seed: { type: "string" },
      checkpoint: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (o.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  if (o.model !== "mlp" && o.model !== "cnn") {
    throw new InvalidInputError(`--model must be mlp or cnn, got "${o.model}"`);
  }
  const bar = new ProgressBar();
  const ds = await openDataset(o.dataset!, { log: (m) => bar.log(m) });
  const inputShape = channelsLastShape(ds.meta.inputShape);
  const featureSize = inputShape.reduce((a, b) => a * b, 1);
  let train: Split = {
    features: toChannelsLast(ds.train.features, ds.meta.inputShape),
    labels: ds.train.labels,
  };
  const test: Split | undefined = ds.test
    ? { features: toChannelsLast(ds.test.features, ds.meta.inputShape), labels: ds.test.labels }
    : undefined;
  const limit = intOption("limit", o.limit, train.labels.length);
  if (limit < train.labels.length) train = limitSplit(train, limit, featureSize);
  const subset = o.subset ? await readSubsetFile(o.subset) : null;
  const seed = intOption("seed", o.seed, 0, 0);
  const strategy = parseStrategy(o.strategy!);
  if (subset && strategy !== "full") {
    throw new InvalidInputError("--subset trains on a fixed subset: drop --strategy");
  }
  const epochs = intOption("epochs", o.epochs, 10);
  const gpu = await acquireGpu();
  const ctl = new AbortController();
  const onSignal = () => ctl.abort("interrupted");
  Deno.addSignalListener("SIGINT", onSignal);
  const t0 = performance.now();
  if (!o.json) {
    const what = subset
      ? `subset ${o.subset} (${subset.indices.length} samples)`
      : strategy === "full"
      ? `all ${train.labels.length.toLocaleString()} samples`
      : `${strategy} subsets of ${o.budget} of ${train.labels.length.toLocaleString()} samples`;
    bar.log(
      `training ${o.model} on ${o.dataset}, ${what}, ${epochs} epochs, adapter ${gpu.info().description}`,
    );
  }
  try {
    const r = await runTraining(gpu, {
      model: { kind: o.model as ModelKind, seed },
      data: { train, test, inputShape, numClasses: ds.meta.numClasses },
      train: {
        epochs,
        batchSize: intOption("batch-size", o["batch-size"], 128),
        lr: numOption("lr", o.lr, 0.05),
        momentum: numOption("momentum", o.momentum, 0.9),
        nesterov: !o["no-nesterov"],
        weightDecay: numOption("weight-decay", o["weight-decay"], 5e-4),
        schedule: parseSchedule(o.schedule!),
        seed,
      },
      selection: {
        strategy,
        budget: o.budget!,
        selectEvery: intOption("select-every", o["select-every"], 5),
        warmEpochs: intOption("warm-epochs", o["warm-epochs"], 0, 0),
        fixedRandom: o["fixed-random"],
        lambda: o.lambda !== undefined ? numOption("lambda", o.lambda, 0.5) : undefined,
        mode: o.mode as GradMatchMode | undefined,
      },
      fixedSubset: subset ?? undefined,
      checkpoint: o.checkpoint,
      signal: ctl.signal,
      onBatch: (p) =>
        o.json ? undefined : bar.update(
          `epoch ${p.epoch + 1}/${epochs}`,
          p.batch,
          p.batches,
          `loss ${p.loss.toFixed(4)} · ${Math.round(p.samplesPerSecond)} samples/s`,
        ),
      onProgress: (phase, done, total, note) =>
        o.json ? undefined : bar.update(`  ${phase}${note ? ` ${note}` : ""}`, done, total),
      onSubset: (s) => {
        if (o.json) {
          console.log(
            JSON.stringify({
              type: "subset",
              round: s.round,
              epoch: s.epoch,
              size: s.indices.length,
              seconds: s.seconds,
              classCounts: s.classCounts,
            }),
          );
        } else {bar.log(
            `selection round ${s.round} (${strategy}): ${s.indices.length} samples in ${
              s.seconds.toFixed(2)
            } s`,
          );}
      },
      onEpoch: (m) => {
        if (o.json) console.log(JSON.stringify({ type: "epoch", ...m }));
        else {
          bar.log(
            `epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)}, test loss ${m.testLoss.toFixed(4)}, ` +
              `test accuracy ${(100 * m.testAccuracy).toFixed(2)}%, ${m.seconds.toFixed(1)} s ` +
              `(${Math.round(m.samples / m.seconds)} samples/s, ${m.subsetSize} in subset)`,
          );
        }
      },
    });
    const last = r.history.at(-1)!;
    const summary = {
      type: "summary",
      testAccuracy: last.testAccuracy,
      testLoss: last.testLoss,
      epochs: r.history.length,
      seconds: (performance.now() - t0) / 1000,
      trainSeconds: r.trainSeconds,
      selectionSeconds: r.selectionSeconds,
      strategy,
      model: o.model,
      dataset: o.dataset,
      seed,
    };
    if (o.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `done: test accuracy ${(100 * summary.testAccuracy).toFixed(2)}%, test loss ${
          summary.testLoss.toFixed(4)
        }, ` +
          `${summary.epochs} epochs in ${summary.seconds.toFixed(1)} s (selection ${
            summary.selectionSeconds.toFixed(1)
          } s)`,
      );
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    gpu.destroy();
  }
}
