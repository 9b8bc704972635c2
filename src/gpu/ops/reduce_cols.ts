/**
 * reduce_cols: column sums out = Σ_i x[i, :] of x (n, c) on the GPU (shaders/reduce_cols.wgsl). Rows are
 * summed in chunks, accumulating into out, when x exceeds the storage binding limit.
 */
import code from "../../../shaders/reduce_cols.wgsl" with { type: "text" };
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectShape, grid1d, rowChunks, rowSlice } from "./common.ts";

export const REDUCE_COLS: KernelSpec = { name: "reduce_cols", code, bindings: ["uniform", "read", "write"] };

/** Mirrors `struct Params` in reduce_cols.wgsl. */
export const REDUCE_COLS_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"], ["accumulate", "u32"]];

/** Columns per workgroup (COLS in the shader). */
const COLS = 16;

/**
 * Float32 tolerance of a sum over n rows, to be scaled by the largest |entry|: each thread adds n / 16
 * terms in sequence, whose rounding errors grow like √n ulp on random data.
 */
export function reduceColsTolerance(n: number): { atol: number; rtol: number } {
  return { atol: 1e-6 * Math.sqrt(Math.max(n, 1)), rtol: 1e-6 };
}

/** Records out[j] = Σ_i x[i, j] into `step`: x (n, c), out (c). */
export function encodeColSum(step: Step, x: Tensor, out: Tensor): void {
  const [n, c] = dims2("reduce_cols", "x", x);
  expectShape("reduce_cols", "out", out, [c]);
  if (c === 0) return;
  const chunks = rowChunks(step.gpu, n, [c * 4]);
  chunks.forEach(([r0, rows], i) => {
    const params = packParams(REDUCE_COLS_PARAMS, { n: rows, c, accumulate: i > 0 ? 1 : 0 });
    const xs = chunks.length === 1 ? x : rowSlice(x, r0, rows, c * 4);
    step.dispatch(REDUCE_COLS, {}, params, [xs, out], grid1d(step.gpu, ceilDiv(c, COLS)));
  });
}

/** Column sums of x (n, c) into a new (c) tensor. */
export function colSum(step: Step, x: Tensor): Tensor {
  const out = empty(step.gpu, [dims2("reduce_cols", "x", x)[1]], "f32", "reduce_cols.out");
  encodeColSum(step, x, out);
  return out;
}
