/**
 * softmax: y = softmax(x) along each row of x (n, c) on the GPU (shaders/softmax.wgsl), stabilised by the
 * row max. Rows are split into chunks when x exceeds the storage binding limit.
 */
import own from "../../../shaders/softmax.wgsl" with { type: "text" };
import reductions from "../../../shaders/row_reductions.wgsl" with { type: "text" };

/** The kernel source with the shared row reductions prepended. */
const code = `${reductions}\n${own}`;
import type { KernelSpec } from "../pipelines.ts";
import type { Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectShape, grid1d, rowChunks, rowSlice } from "./common.ts";
import { rowThreads } from "./rows.ts";

export const SOFTMAX: KernelSpec = { name: "softmax", code, bindings: ["uniform", "read", "write"] };

/** Mirrors `struct Params` in softmax.wgsl. */
export const SOFTMAX_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"]];

/**
 * Float32 tolerance for rows of c columns: WGSL allows exp an error of a few ulp, and the row sum of c
 * terms carries a rounding error growing like √c.
 */
export function softmaxTolerance(c: number): { atol: number; rtol: number } {
  return { atol: 1e-7 * Math.sqrt(Math.max(c, 1)), rtol: 4e-6 + 1e-7 * Math.sqrt(Math.max(c, 1)) };
}

/** Records y = softmax(x) row by row into `step`; x and y are (n, c). */
export function encodeSoftmax(step: Step, x: Tensor, y: Tensor): void {
  const [n, c] = dims2("softmax", "x", x);
  expectShape("softmax", "y", y, [n, c]);
  if (n * c === 0) return;
  const constants = { WG: rowThreads(c) };
  const chunks = rowChunks(step.gpu, n, [c * 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(SOFTMAX_PARAMS, { n: rows, c });
    step.dispatch(SOFTMAX, constants, params, [
      whole ? x : rowSlice(x, r0, rows, c * 4),
      whole ? y : rowSlice(y, r0, rows, c * 4),
    ], grid1d(step.gpu, rows));
  }
}

/** softmax(x) along rows into a new (n, c) tensor. */
export function softmax(step: Step, x: Tensor): Tensor {
  const [n, c] = dims2("softmax", "x", x);
  const y = empty(step.gpu, [n, c], "f32", "softmax.out");
  encodeSoftmax(step, x, y);
  return y;
}
