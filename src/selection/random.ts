/**
 * Random and Full baselines (algorithms.md, "Common training protocol"): Random draws k samples uniformly
 * without replacement, weight 1 (re-drawn each round when the schedule is adaptive — the caller decides
 * by calling `select` again with a fresh rng state); Full returns everything with weight 1.
 */
import type { Rng } from "../util/rng.ts";
import { finishSubset } from "./budget.ts";
import { type SelectionContext, sourceRows, type Strategy, type Subset } from "./types.ts";

/** k of n uniformly without replacement, weight 1, sorted (finishSubset's top-up is exactly that). */
export function randomSubset(n: number, k: number, rng: Rng): Subset {
  return finishSubset([], [], n, k, rng);
}

export class RandomStrategy implements Strategy {
  readonly name = "random";

  select(ctx: SelectionContext): Promise<Subset> {
    const n = ctx.labels?.length ?? sourceRows(ctx.features);
    return Promise.resolve(randomSubset(n, ctx.budget, ctx.rng));
  }
}

export class FullStrategy implements Strategy {
  readonly name = "full";

  select(ctx: SelectionContext): Promise<Subset> {
    const n = ctx.labels?.length ?? sourceRows(ctx.features);
    return Promise.resolve({
      indices: Uint32Array.from({ length: n }, (_, i) => i),
      weights: new Float32Array(n).fill(1),
    });
  }
}
