/**
 * CRAIG — Mirzasoleiman, Bilmes & Leskovec, "Coresets for Data-efficient Training of Machine Learning
 * Models", ICML 2020 (algorithms.md, "CRAIG"). Per class c, with features gᵢ = eᵢ = softmax(zᵢ) − onehot(yᵢ)
 * (C values: the logit part of the last-layer gradient, as CORDS's CRAIG uses; a dense source's rows as
 * they are):
 *
 *   Dᵢⱼ = ‖gᵢ − gⱼ‖²,   sᵢⱼ = max(D) − Dᵢⱼ,   S_c = greedy argmax_{|S| = k_c} Σ_{i∈c} max_{j∈S} sᵢⱼ
 *
 * and each pick j weighs γⱼ = #{ i ∈ c : j is i's most similar pick } (ties to the earlier pick),
 * so Σ γ = n_c. The budget is split over classes in proportion to their size (`apportion`).
 *
 * Where it runs: D is an n_c × n_c job for the pairwise kernel (exact squared distances, symmetric to the
 * bit); blocks of several classes share one GPU step and one read-back (`pairwiseBlocks`); lazy greedy runs
 * on the CPU over the read-back matrix. Rows and indices stay aligned: row r of a class block is the
 * class's r-th sample in dataset order (CORDS reads gradients computed in shuffled order as if they were in
 * order — not copied).
 *
 * Deviations: a pick that no sample prefers (weight 0 — only possible when an earlier pick has identical
 * features, i.e. a class has fewer distinct rows than its budget) keeps weight 1, as CREST does, rather
 * than being dropped, so the subset is exactly the greedy picks. Deterministic: no randomness is drawn
 * unless `finishSubset` must top up (never, since every pick has a positive weight).
 */
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { Rng } from "../util/rng.ts";
import { apportion, classIndices, finishSubset } from "./budget.ts";
import { DEFAULT_READBACK_BYTES, maximizeFacilityLocation, pairwiseBlocks } from "./facility_location.ts";
import {
  type GradientSource,
  type SelectionContext,
  sourceRows,
  type Strategy,
  type Subset,
} from "./types.ts";

/** Settings of CRAIG. */
export interface CraigConfig {
  /** Lazy greedy (default true); plain greedy makes the same picks in O(k·n_c²) and exists for checks. */
  lazy: boolean;
  /**
   * Bytes of one GPU → CPU read-back of distance blocks (default 64 MiB): small classes share one, a class
   * whose n_c² floats exceed it is read in row blocks. The CPU holds one class's n_c² floats at a time.
   */
  readbackBytes: number;
}

export const DEFAULT_CRAIG_CONFIG: CraigConfig = { lazy: true, readbackBytes: DEFAULT_READBACK_BYTES };

/** The rows CRAIG compares: eᵢ of a factored source, the rows of a dense one. */
export function craigFeatures(source: GradientSource): Tensor {
  return source.kind === "factored" ? source.e : source.g;
}

/** Turns squared distances into CRAIG's similarity in place: s = max(D) − D (float32). */
export function distanceToSimilarity(d: Float32Array): Float32Array {
  let max = 0;
  for (let i = 0; i < d.length; i++) if (d[i] > max) max = d[i];
  for (let i = 0; i < d.length; i++) d[i] = max - d[i];
  return d;
}

/**
 * For each row set (a class), the similarity s = max(D) − D of its rows of x (n, d), yielded in order;
 * the distances come from the GPU in grouped read-backs.
 */
export async function* craigSimilarities(
  x: Tensor,
  classes: readonly Uint32Array[],
  opts: { readbackBytes?: number; signal?: AbortSignal } = {},
): AsyncGenerator<{ block: number; sim: Float32Array }> {
  const blocks = pairwiseBlocks(x, classes, { metric: "sqeuclid", ...opts });
  for await (const { block, matrix } of blocks) yield { block, sim: distanceToSimilarity(matrix) };
}

/** CRAIG as a selection strategy. Needs labels; deterministic. */
export class CraigStrategy implements Strategy {
  readonly name = "craig";
  readonly config: CraigConfig;

  constructor(config: Partial<CraigConfig> = {}) {
    this.config = { ...DEFAULT_CRAIG_CONFIG, ...config };
  }

  async select(ctx: SelectionContext): Promise<Subset> {
    const { labels, n } = checkContext(ctx);
    const classes = classIndices(labels, ctx.numClasses);
    const budgets = apportion(ctx.budget, classes.map((c) => c.length));
    const active = budgets.flatMap((k, c) => (k > 0 ? [c] : []));
    const indices: number[] = [];
    const weights: number[] = [];
    let done = ctx.numClasses - active.length;
    const sims = craigSimilarities(craigFeatures(ctx.features), active.map((c) => classes[c]), {
      readbackBytes: this.config.readbackBytes,
      signal: ctx.signal,
    });
    for await (const { block, sim } of sims) {
      throwIfAborted(ctx.signal);
      const c = active[block];
      const rows = classes[c];
      const r = maximizeFacilityLocation(sim, {
        n: rows.length,
        k: budgets[c],
        lazy: this.config.lazy,
        symmetric: true,
      });
      r.picks.forEach((p, t) => {
        indices.push(rows[p]);
        weights.push(Math.max(1, r.weights[t]));
      });
      ctx.progress?.(++done, ctx.numClasses, `class ${c}: ${budgets[c]} of ${rows.length}`);
    }
    return finishSubset(indices, weights, n, ctx.budget, ctx.rng);
  }
}

function checkContext(ctx: SelectionContext): { labels: Uint32Array; n: number } {
  if (!ctx.labels) {
    throw new InvalidInputError("craig selects per class and needs labels; pass the dataset's labels");
  }
  const n = sourceRows(ctx.features);
  if (ctx.labels.length !== n) {
    throw new InvalidInputError(`craig: ${ctx.labels.length} labels for ${n} feature rows`);
  }
  if (!Number.isInteger(ctx.budget) || ctx.budget < 1 || ctx.budget > n) {
    throw new InvalidInputError(`craig: budget ${ctx.budget} must be a count in [1, ${n}]`);
  }
  return { labels: ctx.labels, n };
}

/**
 * The CPU twin, in float64 end to end: same classes, budgets, similarity and greedy; rows (n, d) of
 * `features`. For tests: on data without near-ties it must pick what the GPU path picks.
 */
export function craigReference(
  features: Float32Array,
  labels: Uint32Array,
  opts: { d: number; numClasses: number; budget: number; lazy?: boolean },
): Subset {
  const { d } = opts;
  const classes = classIndices(labels, opts.numClasses);
  const budgets = apportion(opts.budget, classes.map((c) => c.length));
  const indices: number[] = [];
  const weights: number[] = [];
  classes.forEach((rows, c) => {
    if (budgets[c] === 0) return;
    const m = rows.length;
    const dist = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += (features[rows[i] * d + t] - features[rows[j] * d + t]) ** 2;
        dist[i * m + j] = acc;
      }
    }
    const max = dist.reduce((a, b) => Math.max(a, b), 0);
    const sim = dist.map((v) => max - v);
    const r = maximizeFacilityLocation(sim, { n: m, k: budgets[c], lazy: opts.lazy, symmetric: true });
    r.picks.forEach((p, t) => {
      indices.push(rows[p]);
      weights.push(Math.max(1, r.weights[t]));
    });
  });
  return finishSubset(indices, weights, labels.length, opts.budget, new Rng(0));
}
