/**
 * reduce_rows: one number per row of x (n, c) on the GPU (shaders/reduce_rows.wgsl): row sums, squared
 * row norms, and row max with its first argmax. Rows are split into chunks when x exceeds the storage
 * binding limit.
 */
import reduceRows from "../../../shaders/reduce_rows.wgsl" with { type: "text" };
import reductions from "../../../shaders/row_reductions.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import type { Binding, Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";
import { rowThreads } from "./rows.ts";

/** reduce_rows.wgsl with the shared tree reductions (row_reductions.wgsl) it uses. */
const code = `${reductions}\n${reduceRows}`;

/** out[i] = Σ_j x[i, j]. */
export const ROW_SUM: KernelSpec = {
  name: "reduce_rows",
  code,
  entry: "sum",
  bindings: ["uniform", "read", "write"],
};

/** out[i] = Σ_j x[i, j]². */
export const ROW_SQ_NORM: KernelSpec = {
  name: "reduce_rows",
  code,
  entry: "sq_norm",
  bindings: ["uniform", "read", "write"],
};

/** max[i] = max_j x[i, j], argmax[i] = the first j attaining it. */
export const ROW_MAX_ARGMAX: KernelSpec = {
  name: "reduce_rows",
  code,
  entry: "max_argmax",
  bindings: ["uniform", "read", "write", "write"],
};

/** Mirrors `struct Params` in reduce_rows.wgsl. */
export const REDUCE_ROWS_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"]];

/**
 * Float32 tolerance of a sum of c terms, to be scaled by the largest |term| · √c: the error of a
 * tree-and-strided sum grows like √c ulp on random data. max and argmax are exact.
 */
export function reduceRowsTolerance(c: number): { atol: number; rtol: number } {
  return { atol: 1e-6 * Math.sqrt(Math.max(c, 1)), rtol: 1e-6 };
}

/** "reduce_rows.sum" etc., for messages. */
function kernelName(spec: KernelSpec): string {
  return `${spec.name}.${spec.entry}`;
}

/** Dispatches `spec` over the rows of x, writing one value per row into each of `outs` (name, tensor). */
function encodeRows(
  step: Step,
  spec: KernelSpec,
  x: Tensor,
  outs: readonly (readonly [string, Tensor<"f32"> | Tensor<"u32">])[],
): void {
  const [n, c] = dims2(kernelName(spec), "x", x);
  for (const [name, t] of outs) expectShape(kernelName(spec), name, t, [n]);
  if (n === 0) return;
  const chunks = rowChunks(step.gpu, n, [c * 4, 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const bindings: Binding[] = [
      whole ? x : rowSlice(x, r0, rows, c * 4),
      ...outs.map(([, t]) => whole ? t : rowSlice(t, r0, rows, 4)),
    ];
    const params = packParams(REDUCE_ROWS_PARAMS, { n: rows, c });
    step.dispatch(spec, { WG: rowThreads(c) }, params, bindings, grid1d(step.gpu, rows));
  }
}

/** Rows of x, validated for `spec`. */
function rowsOf(spec: KernelSpec, x: Tensor): number {
  return dims2(kernelName(spec), "x", x)[0];
}

/** Records out[i] = Σ_j x[i, j] into `step`: x (n, c), out (n). */
export function encodeRowSum(step: Step, x: Tensor, out: Tensor): void {
  encodeRows(step, ROW_SUM, x, [["out", out]]);
}

/** Row sums of x (n, c) into a new (n) tensor. */
export function rowSum(step: Step, x: Tensor): Tensor {
  const out = empty(step.gpu, [rowsOf(ROW_SUM, x)], "f32", "row_sum.out");
  encodeRowSum(step, x, out);
  return out;
}

/** Records out[i] = ‖x_i‖² into `step`: x (n, d), out (n). */
export function encodeSqNorms(step: Step, x: Tensor, out: Tensor): void {
  encodeRows(step, ROW_SQ_NORM, x, [["out", out]]);
}

/** Squared row norms of x (n, d) into a new (n) tensor. */
export function sqNorms(step: Step, x: Tensor): Tensor {
  const out = empty(step.gpu, [rowsOf(ROW_SQ_NORM, x)], "f32", "sq_norms.out");
  encodeSqNorms(step, x, out);
  return out;
}

/** Row maxima (n) f32 and their first column (n) u32. */
export interface RowMaxArgmax {
  max: Tensor;
  argmax: Tensor<"u32">;
}

/** Records the max of each row of x (n, c), c ≥ 1, and the first column attaining it into `step`. */
export function encodeRowMaxArgmax(step: Step, x: Tensor, out: RowMaxArgmax): void {
  const [n, c] = dims2(kernelName(ROW_MAX_ARGMAX), "x", x);
  if (n > 0 && c === 0) {
    throw new ShapeError(`${kernelName(ROW_MAX_ARGMAX)}: the rows of x ${fmtShape(x.shape)} are empty`);
  }
  expectDType(kernelName(ROW_MAX_ARGMAX), "argmax", out.argmax, "u32");
  encodeRows(step, ROW_MAX_ARGMAX, x, [["max", out.max], ["argmax", out.argmax]]);
}

/** Row maxima and argmaxima of x (n, c) in new tensors. */
export function rowMaxArgmax(step: Step, x: Tensor): RowMaxArgmax {
  const n = rowsOf(ROW_MAX_ARGMAX, x);
  const out = {
    max: empty(step.gpu, [n], "f32", "row_max"),
    argmax: empty(step.gpu, [n], "u32", "row_argmax"),
  };
  encodeRowMaxArgmax(step, x, out);
  return out;
}
