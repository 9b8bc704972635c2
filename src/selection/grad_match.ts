/**
 * GRAD-MATCH — Killamsetty, Sivasubramanian, Ramakrishnan, De & Iyer, "GRAD-MATCH: Gradient Matching
 * based Data Subset Selection for Efficient Deep Model Training", ICML 2021 (algorithms.md). Finds a
 * weighted subset whose weighted gradient sum matches the pool's:
 *
 *   min_{S, w ≥ 0, |S| ≤ k}  ‖ Σ_{i∈S} wᵢ gᵢ − b ‖² + λ‖w‖²,   b = Σ_{pool} gᵢ,
 *
 * by Batch-OMP (`omp_hybrid.ts`: GPU correlation passes — from the factors e and h for last-layer
 * gradients, over an f16 or f32 copy for a dense matrix — with the Cholesky factor and the residual in
 * float64 on the CPU, picks re-checked in float64; or the all-GPU `omp_gpu.ts`). Modes (CORDS's names):
 * - per-class (default): class c gets k_c of the budget (`apportion`, in proportion to its size) and
 *   its own target, the sum of its rows; λ = 0.5.
 * - per-batch: the pool is cut in order into mini-batches of `batchSize`; each batch is one row (its mean
 *   gradient); ⌈k / batchSize⌉ batches are chosen; a chosen batch's samples inherit its weight; λ = 0.
 * - whole: one OMP over all rows against the sum of everything.
 * The budget is always used: OMP may stop early (no positive correlation left) or return fewer
 * positive weights; `finishSubset` tops up with random samples of weight 1 (seeded), as CORDS does.
 */
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import { Step } from "../gpu/step.ts";
import { type Tensor, tensor } from "../gpu/tensor.ts";
import { gatherRows } from "../gpu/ops/gather_rows.ts";
import { apportion, classIndices, finishSubset } from "./budget.ts";
import { batchMeans, type CpuFeatures, readFeatures, selectRows, targetCorrelations } from "./features.ts";
import { ompGpu, type OmpProblem, type OmpResult } from "./omp_gpu.ts";
import { ompHybrid } from "./omp_hybrid.ts";
import { type SelectionContext, sourceRows, type Strategy, type Subset } from "./types.ts";

/** How the budget and the target are split. */
export type GradMatchMode = "per-class" | "per-batch" | "whole";

/** Settings of GRAD-MATCH; defaults as CORDS uses them. */
export interface GradMatchConfig {
  mode: GradMatchMode;
  /** Ridge λ; default 0.5 per class and whole, 0 per batch (CORDS). */
  lambda?: number;
  /** Mini-batch size of the per-batch partition (128). */
  batchSize: number;
  /**
   * OMP engine: "hybrid" (default) keeps the t × t algebra and the residual in float64 on the CPU (an
   * incremental Cholesky factor) and the O(n·d) correlation passes on the GPU; it runs several passes
   * ahead on guessed picks and reads back once per batch, and its picks are the float64 OMP's (the
   * reference's). "gpu" runs everything on the GPU in float32 and reads back once per `chunk` iterations;
   * its weights drift on ill-conditioned gradients (see bench/RESULTS.md).
   */
  engine: "hybrid" | "gpu";
  /** OMP iterations per GPU submit of the "gpu" engine (32). */
  chunk: number;
}

export const DEFAULT_GRAD_MATCH_CONFIG: GradMatchConfig = {
  mode: "per-class",
  batchSize: 128,
  engine: "hybrid",
  chunk: 32,
};

/** Statistics of the last `select` (for reports and benchmarks). */
export interface GradMatchStats {
  ompIterations: number;
  unresolvedNegatives: number;
  problems: number;
  /** GPU→CPU read-backs and correlation passes of the hybrid engine (0 with the all-GPU one). */
  readBacks: number;
  passes: number;
}

export class GradMatchStrategy implements Strategy {
  readonly name = "gradmatch";
  readonly config: GradMatchConfig;
  stats: GradMatchStats = { ompIterations: 0, unresolvedNegatives: 0, problems: 0, readBacks: 0, passes: 0 };

  constructor(config: Partial<GradMatchConfig> = {}) {
    this.config = { ...DEFAULT_GRAD_MATCH_CONFIG, ...config };
    if (!["per-class", "per-batch", "whole"].includes(this.config.mode)) {
      throw new InvalidInputError(
        `gradmatch: unknown mode "${this.config.mode}" (per-class, per-batch, whole)`,
      );
    }
    if (this.config.lambda !== undefined && !(this.config.lambda >= 0)) {
      throw new InvalidInputError(`gradmatch: lambda must be ≥ 0, got ${this.config.lambda}`);
    }
  }

  get lambda(): number {
    return this.config.lambda ?? (this.config.mode === "per-batch" ? 0 : 0.5);
  }

  async select(ctx: SelectionContext): Promise<Subset> {
    const n = sourceRows(ctx.features);
    if (ctx.labels && ctx.labels.length !== n) {
      throw new InvalidInputError(`gradmatch: ${ctx.labels.length} labels for ${n} gradient rows`);
    }
    this.stats = { ompIterations: 0, unresolvedNegatives: 0, problems: 0, readBacks: 0, passes: 0 };
    const cpu = await readFeatures(ctx.features);
    const picks = { indices: [] as number[], weights: [] as number[] };
    if (this.config.mode === "per-class") {
      if (!ctx.labels) throw new InvalidInputError("gradmatch per-class needs labels");
      const classes = classIndices(ctx.labels, ctx.numClasses);
      const budgets = apportion(ctx.budget, classes.map((c) => c.length));
      for (const [c, rows] of classes.entries()) {
        throwIfAborted(ctx.signal);
        if (budgets[c] > 0) await this.#solve(ctx, cpu, rows, budgets[c], picks);
        ctx.progress?.(c + 1, classes.length, `class ${c}`);
      }
    } else if (this.config.mode === "whole") {
      await this.#solve(ctx, cpu, Uint32Array.from({ length: n }, (_, i) => i), ctx.budget, picks);
    } else {
      await this.#perBatch(ctx, cpu, picks);
    }
    return finishSubset(picks.indices, picks.weights, n, ctx.budget, ctx.rng);
  }

  /** One OMP over `rows` (pool row numbers) with budget k; appends pool indices and weights. */
  async #solve(
    ctx: SelectionContext,
    cpu: CpuFeatures,
    rows: Uint32Array,
    k: number,
    out: { indices: number[]; weights: number[] },
  ): Promise<void> {
    const whole = rows.length === sourceRows(ctx.features);
    const owned: Tensor[] = [];
    let problem: OmpProblem;
    const step = new Step(ctx.gpu, "gradmatch gather");
    if (ctx.features.kind === "factored") {
      const e = whole ? ctx.features.e : gatherRows(step, ctx.features.e, rows);
      const h = whole ? ctx.features.h : gatherRows(step, ctx.features.h, rows);
      if (!whole) owned.push(e, h);
      problem = { kind: "factored", e, h, bias: ctx.features.bias, p0: targetCorrelations(cpu, rows) };
    } else {
      const g = whole ? ctx.features.g : gatherRows(step, ctx.features.g, rows);
      if (!whole) owned.push(g);
      problem = { kind: "dense", g };
    }
    await step.submit();
    try {
      const r = await this.#omp(ctx, problem, whole ? cpu : selectRows(cpu, rows), k);
      r.indices.forEach((i, t) => {
        out.indices.push(rows[i]);
        out.weights.push(r.weights[t]);
      });
      this.stats.ompIterations += r.iterations;
      this.stats.unresolvedNegatives += r.unresolvedNegatives;
      this.stats.readBacks += r.readBacks ?? 0;
      this.stats.passes += r.passes ?? 0;
      this.stats.problems++;
    } finally {
      owned.forEach((t) => t.dispose());
    }
  }

  /** One OMP problem with the configured engine. */
  #omp(ctx: SelectionContext, problem: OmpProblem, cpu: CpuFeatures, k: number): Promise<OmpResult> {
    const opts = { k, lambda: this.lambda, chunk: this.config.chunk, signal: ctx.signal };
    return this.config.engine === "gpu"
      ? ompGpu(ctx.gpu, problem, opts)
      : ompHybrid(ctx.gpu, problem, cpu, opts);
  }

  /** Per-batch mode: OMP over mini-batch mean gradients; members inherit their batch's weight. */
  async #perBatch(
    ctx: SelectionContext,
    cpu: CpuFeatures,
    out: { indices: number[]; weights: number[] },
  ): Promise<void> {
    const n = cpu.n;
    const bs = this.config.batchSize;
    const { g, d, groups } = batchMeans(cpu, Uint32Array.from({ length: n }, (_, i) => i), bs);
    const gt = tensor(ctx.gpu, g, [groups.length, d], "gradmatch.batches");
    try {
      const kb = Math.min(groups.length, Math.ceil(ctx.budget / bs));
      const r = await this.#omp(ctx, { kind: "dense", g: gt }, { kind: "dense", g, n: groups.length, d }, kb);
      // ⌈k/B⌉ whole batches may exceed k samples; finishSubset then keeps the k heaviest.
      r.indices.forEach((b, t) => {
        for (const i of groups[b]) {
          out.indices.push(i);
          out.weights.push(r.weights[t]);
        }
      });
      this.stats.ompIterations += r.iterations;
      this.stats.unresolvedNegatives += r.unresolvedNegatives;
      this.stats.readBacks += r.readBacks ?? 0;
      this.stats.passes += r.passes ?? 0;
      this.stats.problems++;
    } finally {
      gt.dispose();
    }
  }
}
