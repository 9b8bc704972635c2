/**
 * The contract every selection strategy implements (design.md): a strategy takes per-sample features
 * (last-layer gradients in factored or dense form, on the GPU), labels and a budget, and returns a
 * weighted subset — sorted unique indices, positive weights, exactly `budget` of them.
 */
import type { Gpu } from "../gpu/device.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { Rng } from "../util/rng.ts";

/** A weighted subset: sorted unique indices into the pool, and a positive weight each. */
export interface Subset {
  indices: Uint32Array;
  weights: Float32Array;
}

/**
 * Per-sample features on the GPU, rows aligned with the labels.
 * - factored: last-layer gradients gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (or eᵢ ⊗ hᵢ without the bias part), kept as
 *   e (n, C) and h (n, D); ⟨gᵢ, gⱼ⟩ = (eᵢ·eⱼ)(hᵢ·hⱼ + 1) — never materialised unless a strategy must.
 * - dense: any n × d matrix (a user's own gradients or embeddings).
 */
export type GradientSource =
  | { kind: "factored"; e: Tensor; h: Tensor; bias: boolean }
  | { kind: "dense"; g: Tensor };

/** Rows in a gradient source. */
export function sourceRows(s: GradientSource): number {
  return s.kind === "dense" ? s.g.shape[0] : s.e.shape[0];
}

/** Dimension of the (possibly implicit) gradient rows. */
export function sourceDim(s: GradientSource): number {
  if (s.kind === "dense") return s.g.shape[1];
  const [c, d] = [s.e.shape[1], s.h.shape[1]];
  return c * d + (s.bias ? c : 0);
}

/** Everything a strategy gets. */
export interface SelectionContext {
  gpu: Gpu;
  features: GradientSource;
  /** (n) class of each row; null when the caller has no labels (class-free strategies only). */
  labels: Uint32Array | null;
  numClasses: number;
  /** Number of samples to select, already resolved and validated (1 ≤ budget ≤ n). */
  budget: number;
  rng: Rng;
  signal?: AbortSignal;
  /** Progress report: `done` of `total` units, with an optional note. */
  progress?: (done: number, total: number, note?: string) => void;
}

/** A selection strategy. Deterministic for a given seed (ctx.rng). */
export interface Strategy {
  readonly name: string;
  select(ctx: SelectionContext): Promise<Subset>;
}
