/**
 * `gradsift train`: trains a model on a dataset from the store (built-ins are imported on first use),
 * on the full training split or a weighted subset file, with a progress bar and a summary; `--json`
 * prints one JSON object per epoch and a final one instead.
 */
import { parseArgs } from "node:util";
import { openDataset } from "../data/builtin.ts";
import { InvalidInputError } from "../errors.ts";
import { acquireGpu } from "../gpu/device.ts";
import { saveCheckpoint } from "../nn/checkpoint.ts";
import { buildModel, channelsLastShape, type ModelKind, toChannelsLast } from "../nn/model.ts";
import { parseSchedule } from "../nn/schedule.ts";
import { type Split, Trainer, type WeightedSubset } from "../nn/train.ts";
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
  --subset FILE        train on a weighted subset: JSON {indices, weights} (e.g. from gradsift select)
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
  const gpu = await acquireGpu();
  const model = buildModel(gpu, {
    kind: o.model as ModelKind,
    inputShape,
    numClasses: ds.meta.numClasses,
    seed,
  });
  const trainer = new Trainer(model, { train, test }, {
    epochs: intOption("epochs", o.epochs, 10),
    batchSize: intOption("batch-size", o["batch-size"], 128),
    lr: numOption("lr", o.lr, 0.05),
    momentum: numOption("momentum", o.momentum, 0.9),
    nesterov: !o["no-nesterov"],
    weightDecay: numOption("weight-decay", o["weight-decay"], 5e-4),
    schedule: parseSchedule(o.schedule!),
    seed,
  });
  const ctl = new AbortController();
  const onSignal = () => ctl.abort("interrupted");
  Deno.addSignalListener("SIGINT", onSignal);
  const t0 = performance.now();
  const size = subset ? subset.indices.length : train.labels.length;
  if (!o.json) {
    bar.log(
      `training ${o.model} (${model.parameterCount.toLocaleString()} parameters) on ${o.dataset}: ` +
        `${size.toLocaleString()} samples${
          subset ? ` (subset ${o.subset})` : ""
        }, ${trainer.config.epochs} epochs, ` +
        `adapter ${gpu.info().description}`,
    );
  }
  try {
    const history = await trainer.fit({
      subset,
      signal: ctl.signal,
      onBatch: (p) =>
        o.json ? undefined : bar.update(
          `epoch ${p.epoch + 1}/${trainer.config.epochs}`,
          p.batch,
          p.batches,
          `loss ${p.loss.toFixed(4)} · ${Math.round(p.samplesPerSecond)} samples/s`,
        ),
      onEpoch: async (m) => {
        if (o.checkpoint) {
          await saveCheckpoint(o.checkpoint, model, { epoch: m.epoch, stepsDone: trainer.stepsDone });
        }
        if (o.json) console.log(JSON.stringify({ type: "epoch", ...m }));
        else {
          bar.log(
            `epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)}, test loss ${m.testLoss.toFixed(4)}, ` +
              `test accuracy ${(100 * m.testAccuracy).toFixed(2)}%, ${m.seconds.toFixed(1)} s ` +
              `(${Math.round(m.samples / m.seconds)} samples/s)`,
          );
        }
      },
    });
    const last = history.at(-1)!;
    const summary = {
      type: "summary",
      testAccuracy: last.testAccuracy,
      testLoss: last.testLoss,
      epochs: history.length,
      seconds: (performance.now() - t0) / 1000,
      trainSeconds: history.reduce((s, m) => s + m.seconds, 0),
      samples: size,
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
          `${summary.epochs} epochs in ${summary.seconds.toFixed(1)} s`,
      );
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    model.dispose();
    gpu.destroy();
  }
}
