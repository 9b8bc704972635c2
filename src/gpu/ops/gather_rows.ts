/** gather_rows: out[i, :] = x[index[i], :] (shaders/gather_rows.wgsl). */
import code from "../../../shaders/gather_rows.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor, tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, grid1d } from "./common.ts";

export const GATHER_ROWS: KernelSpec = {
  name: "gather_rows",
  code,
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in gather_rows.wgsl. */
export const GATHER_ROWS_PARAMS: ParamsLayout = [["m", "u32"], ["cols", "u32"]];

/** Threads per workgroup (WG in the shader). */
const WG = 256;

/** A copy: exact. */
export const GATHER_ROWS_TOLERANCE = { atol: 0, rtol: 0 };

/** Records out = x[index] (rows). `index` holds `out.shape[0]` u32 row numbers < rows of x. */
export function encodeGatherRows(step: Step, x: Tensor, index: Tensor<"u32">, out: Tensor): void {
  const [, cols] = dims2("gather_rows", "x", x);
  expectDType("gather_rows", "index", index, "u32");
  if (index.shape.length !== 1) throw new ShapeError(`gather_rows: index must be 1-D, got [${index.shape}]`);
  const m = index.shape[0];
  expectShape("gather_rows", "out", out, [m, cols]);
  if (m === 0 || cols === 0) return;
  const params = packParams(GATHER_ROWS_PARAMS, { m, cols });
  step.dispatch(GATHER_ROWS, {}, params, [x, index, out], grid1d(step.gpu, ceilDiv(m * cols, WG)));
}

/** Rows `rows` of x as a new tensor; the row numbers are checked against x here, on the CPU. */
export function gatherRows(step: Step, x: Tensor, rows: Uint32Array): Tensor {
  const [n, cols] = dims2("gather_rows", "x", x);
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] >= n) {
      throw new ShapeError(`gather_rows: row ${rows[i]} (position ${i}) out of range for ${n} rows`);
    }
  }
  const index = tensor(step.gpu, rows, [rows.length], "gather_rows.index");
  const out = empty(step.gpu, [rows.length, cols], "f32", "gather_rows.out");
  encodeGatherRows(step, x, index, out);
  step.release(index);
  return out;
}
