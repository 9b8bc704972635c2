/**
 * `gradsift select`: selection from a user's own n × d gradient (or embedding) matrix in a .npy file —
 * e.g. exported from PyTorch — written as JSON {indices, weights, objective, seconds}. The objective is
 * GRAD-MATCH's matching error ‖Σ wᵢgᵢ − t‖ / ‖t‖ with t = Σᵢ gᵢ, whatever the strategy.
 */
import { parseArgs } from "node:util";
import { readNpy } from "../data/npy.ts";
import { InvalidInputError } from "../errors.ts";
import { acquireGpu } from "../gpu/device.ts";
import { tensor } from "../gpu/tensor.ts";
import { resolveBudget } from "../selection/budget.ts";
import { checkFinite, matchingObjective } from "../selection/features.ts";
import { createStrategy, parseStrategy } from "../selection/mod.ts";
import { GradMatchStrategy } from "../selection/grad_match.ts";
import { Rng } from "../util/rng.ts";
import { intOption, numOption } from "./train.ts";
import { ProgressBar } from "./progress.ts";

export const SELECT_USAGE = `usage: gradsift select --input G.npy --budget B --out subset.json [options]
  --input FILE         n × d float32/float64 .npy: per-sample gradients or embeddings
  --labels FILE        n integer labels (.npy); needed by --per-class, craig and nfg
  --strategy S         gradmatch | craig | nfg | random | full [gradmatch]
  --budget B           a fraction in (0, 1), a percentage ("10%") or a count
  --lambda X           GRAD-MATCH ridge λ [0.5 per class, 0 whole set]
  --per-class          GRAD-MATCH per class (budget split by class size); else one OMP on the whole set
  --per-batch N        GRAD-MATCH over mini-batches of N consecutive rows
  --engine E           GRAD-MATCH OMP engine: hybrid (float64 algebra, default) | gpu (all float32)
  --seed S             [0]
  --out FILE           where to write {indices, weights, objective, seconds}`;

/** A label array of any integer dtype as u32, checked. */
function toLabels(data: ArrayLike<number | bigint>, n: number, path: string): Uint32Array {
  if (data.length !== n) throw new InvalidInputError(`labels ${path}: ${data.length} labels for ${n} rows`);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (!Number.isInteger(v) || v < 0) {
      throw new InvalidInputError(`labels ${path}: entry ${i} is ${v}, not a class index`);
    }
    out[i] = v;
  }
  return out;
}

function parseEngine(e: string): "hybrid" | "gpu" {
  if (e === "hybrid" || e === "gpu") return e;
  throw new InvalidInputError(`--engine must be hybrid or gpu, got "${e}"`);
}

export async function selectCommand(args: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args,
    options: {
      input: { type: "string" },
      labels: { type: "string" },
      strategy: { type: "string", default: "gradmatch" },
      budget: { type: "string" },
      lambda: { type: "string" },
      "per-class": { type: "boolean", default: false },
      "per-batch": { type: "string" },
      engine: { type: "string", default: "hybrid" },
      seed: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (o.help) {
    console.log(SELECT_USAGE);
    return 0;
  }
  for (const req of ["input", "budget", "out"] as const) {
    if (!o[req]) throw new InvalidInputError(`--${req} is required\n\n${SELECT_USAGE}`);
  }
  const strategy = parseStrategy(o.strategy!);
  if (strategy === "crest") {
    throw new InvalidInputError("crest selects inside training: use gradsift train --strategy crest");
  }
  const g = await readNpy(o.input!);
  if (g.shape.length !== 2) {
    throw new InvalidInputError(`${o.input}: expected an n × d matrix, got shape (${g.shape})`);
  }
  if (g.dtype !== "float32" && g.dtype !== "float64") {
    throw new InvalidInputError(`${o.input}: expected float32 or float64, got ${g.dtype}`);
  }
  const [n, d] = g.shape;
  const gv = g.data instanceof Float32Array ? g.data : Float32Array.from(g.data as Float64Array);
  checkFinite(gv, d, `${o.input}:`);
  const labels = o.labels ? toLabels((await readNpy(o.labels)).data as ArrayLike<number>, n, o.labels) : null;
  const needsLabels = o["per-class"] || strategy === "craig" || strategy === "nfg";
  if (needsLabels && !labels) {
    throw new InvalidInputError(`--labels is required with ${o["per-class"] ? "--per-class" : strategy}`);
  }
  const numClasses = labels ? Math.max(0, ...labels) + 1 : 1;
  const k = resolveBudget(o.budget!, n);
  const mode = o["per-batch"] ? "per-batch" : o["per-class"] ? "per-class" : "whole";
  const lambda = o.lambda !== undefined ? numOption("lambda", o.lambda, 0) : mode === "per-class" ? 0.5 : 0;
  const gpu = await acquireGpu();
  const bar = new ProgressBar();
  const gt = tensor(gpu, gv, [n, d], "select.input");
  try {
    const s = strategy === "gradmatch"
      ? new GradMatchStrategy({
        mode,
        lambda,
        batchSize: intOption("per-batch", o["per-batch"], 128),
        engine: parseEngine(o.engine!),
      })
      : createStrategy(strategy, { lambda });
    const t0 = performance.now();
    const subset = await s.select({
      gpu,
      features: { kind: "dense", g: gt },
      labels,
      numClasses,
      budget: k,
      rng: new Rng(intOption("seed", o.seed, 0, 0)),
      progress: (done, total, note) => bar.update(`${strategy}${note ? ` (${note})` : ""}`, done, total),
    });
    const seconds = (performance.now() - t0) / 1000;
    const objective = matchingObjective({ kind: "dense", g: gv, n, d }, subset.indices, subset.weights);
    const out = {
      strategy,
      mode: strategy === "gradmatch" ? mode : undefined,
      lambda,
      budget: k,
      n,
      d,
      objective,
      seconds,
    };
    await Deno.writeTextFile(
      o.out!,
      JSON.stringify({ ...out, indices: Array.from(subset.indices), weights: Array.from(subset.weights) }) +
        "\n",
    );
    bar.log(
      `selected ${k} of ${n} rows (${strategy}) in ${seconds.toFixed(2)} s; objective ${
        objective.toExponential(4)
      }; wrote ${o.out}`,
    );
    console.log(JSON.stringify(out));
    return 0;
  } finally {
    gt.dispose();
    gpu.destroy();
  }
}
