/**
 * pairwise: one (n1, n2) block of a pairwise matrix between the rows of X1 (n1, d) and X2 (n2, d) on the
 * GPU (shaders/pairwise.wgsl): dot products, cosines, squared distances (CRAIG) or CREST's similarity
 * exp(−‖x − y‖₂ / c). Rows of X1 and of the output are split into chunks when they exceed the storage
 * binding limit.
 */
import pairwiseCode from "../../../shaders/pairwise.wgsl" with { type: "text" };
import registerTiles from "../../../shaders/register_tiles.wgsl" with { type: "text" };
import { InvalidInputError, ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, rowChunks, rowSlice } from "./common.ts";

export const PAIRWISE: KernelSpec = {
  name: "pairwise",
  code: registerTiles + pairwiseCode,
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in pairwise.wgsl. */
export const PAIRWISE_PARAMS: ParamsLayout = [["m", "u32"], ["n", "u32"], ["d", "u32"], ["scale", "f32"]];

/** What each entry of the block is; the numbers are the shader's METRIC constant. */
export const METRICS = { dot: 0, cosine: 1, sqeuclid: 2, exp: 3 } as const;
export type Metric = keyof typeof METRICS;

/** Rows per tile (TM in the shader). */
const TILE_ROWS = 16;
/** Columns per lane (CL in the shader). */
const LANE_COLS = 8;
/** Lanes per workgroup: one AVX2 SIMD group on lavapipe (see the shader's header). */
const WG = 8;

/**
 * Float32 tolerance for rows of d features, every metric: atol and rtol scale with √d. Pass the block's
 * max |entry| as `scale` for dot products; cosines and the exp kernel are at most 1.
 */
export function pairwiseTolerance(d: number): { atol: number; rtol: number } {
  return { atol: 1e-6 * Math.sqrt(Math.max(d, 1)), rtol: 2e-6 * Math.sqrt(Math.max(d, 1)) };
}

/** Options of `encodePairwise`. */
export interface PairwiseOptions {
  metric: Metric;
  /** c of the exp kernel exp(−‖x − y‖₂ / c): positive and finite (default 1; CREST uses C). */
  scale?: number;
}

/** The (n1, n2, d) of a pairwise block, validated. */
export function pairwiseShape(x1: Tensor, x2: Tensor, opts: PairwiseOptions): [number, number, number] {
  const [n1, d] = dims2("pairwise", "X1", x1);
  const [n2, d2] = dims2("pairwise", "X2", x2);
  expectDType("pairwise", "X1", x1, "f32");
  expectDType("pairwise", "X2", x2, "f32");
  if (d !== d2) {
    throw new ShapeError(
      `pairwise: rows differ in length: X1 is ${fmtShape(x1.shape)}, X2 is ${fmtShape(x2.shape)}`,
    );
  }
  if (!Object.hasOwn(METRICS, opts.metric)) {
    throw new InvalidInputError(
      `pairwise: unknown metric "${opts.metric}" (one of ${Object.keys(METRICS).join(", ")})`,
    );
  }
  const scale = opts.scale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) {
    throw new InvalidInputError(`pairwise: the exp kernel's scale must be positive and finite, got ${scale}`);
  }
  return [n1, n2, d];
}

/** Records P = metric(X1ᵢ, X2ⱼ) into `out` (n1, n2). */
export function encodePairwise(step: Step, x1: Tensor, x2: Tensor, out: Tensor, opts: PairwiseOptions): void {
  const [n1, n2, d] = pairwiseShape(x1, x2, opts);
  expectShape("pairwise", "out", out, [n1, n2]);
  expectDType("pairwise", "out", out, "f32");
  if (n1 === 0 || n2 === 0) return;
  const constants = { METRIC: METRICS[opts.metric], WG };
  const max = step.gpu.limits.maxComputeWorkgroupsPerDimension;
  // Only X1's and the output's rows can be cut into contiguous chunks.
  const chunks = rowChunks(step.gpu, n1, [d * 4, n2 * 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(PAIRWISE_PARAMS, { m: rows, n: n2, d, scale: opts.scale ?? 1 });
    step.dispatch(PAIRWISE, constants, params, [
      whole ? x1 : rowSlice(x1, r0, rows, d * 4),
      x2,
      whole ? out : rowSlice(out, r0, rows, n2 * 4),
    ], [Math.min(ceilDiv(n2, LANE_COLS * WG), max), Math.min(ceilDiv(rows, TILE_ROWS), max)]);
  }
}

/** The pairwise block metric(X1ᵢ, X2ⱼ) into a new (n1, n2) tensor. */
export function pairwise(step: Step, x1: Tensor, x2: Tensor, opts: PairwiseOptions): Tensor {
  const [n1, n2] = pairwiseShape(x1, x2, opts);
  const out = empty(step.gpu, [n1, n2], "f32", "pairwise.out");
  encodePairwise(step, x1, x2, out, opts);
  return out;
}
