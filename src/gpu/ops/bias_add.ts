/**
 * bias_add: out = x + bias on the GPU (shaders/bias_add.wgsl), the bias (c) broadcast over the rows of
 * x (n, c). `out` may be x itself, which runs the in-place entry point. Rows are split into chunks when
 * x exceeds the storage binding limit.
 */
import code from "../../../shaders/bias_add.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";

/** out = x + bias into a separate tensor. */
export const BIAS_ADD: KernelSpec = {
  name: "bias_add",
  code,
  bindings: ["uniform", "read", "read", "write"],
};

/** x += bias. */
export const BIAS_ADD_IN_PLACE: KernelSpec = {
  name: "bias_add",
  code,
  entry: "in_place",
  bindings: ["uniform", "read", "write"],
};

/** Mirrors `struct Params` in bias_add.wgsl. */
export const BIAS_ADD_PARAMS: ParamsLayout = [["size", "u32"], ["c", "u32"]];

/** Threads per workgroup (WG in the shader). */
const WG = 256;

/** Float32 tolerance: one correctly rounded addition, so half an ulp of the result. */
export function biasAddTolerance(): { atol: number; rtol: number } {
  return { atol: 0, rtol: 2 ** -23 };
}

/** The (n, c) of x, validated against bias (c). */
export function biasAddShape(x: Tensor, bias: Tensor): [number, number] {
  const [n, c] = dims2("bias_add", "x", x);
  if (bias.shape.length !== 1 || bias.shape[0] !== c) {
    throw new ShapeError(
      `bias_add: bias must have shape (${c}) to match x ${fmtShape(x.shape)}, got ${fmtShape(bias.shape)}`,
    );
  }
  return [n, c];
}

/** Records out = x + bias into `step`; `out` defaults to x (in place). */
export function encodeBiasAdd(step: Step, x: Tensor, bias: Tensor, out: Tensor = x): void {
  const [n, c] = biasAddShape(x, bias);
  expectShape("bias_add", "out", out, [n, c]);
  if (n * c === 0) return;
  const inPlace = out.buffer === x.buffer;
  for (const [r0, rows] of rowChunks(step.gpu, n, [c * 4])) {
    const whole = rows === n;
    const params = packParams(BIAS_ADD_PARAMS, { size: rows * c, c });
    const groups = grid1d(step.gpu, ceilDiv(rows * c, WG));
    const xs = whole ? x : rowSlice(x, r0, rows, c * 4);
    if (inPlace) {
      step.dispatch(BIAS_ADD_IN_PLACE, {}, params, [bias, xs], groups);
    } else {
      const os = whole ? out : rowSlice(out, r0, rows, c * 4);
      step.dispatch(BIAS_ADD, {}, params, [bias, xs, os], groups);
    }
  }
}

/** x + bias into a new (n, c) tensor. */
export function biasAdd(step: Step, x: Tensor, bias: Tensor): Tensor {
  const [n, c] = biasAddShape(x, bias);
  const out = empty(step.gpu, [n, c], "f32", "bias_add.out");
  encodeBiasAdd(step, x, bias, out);
  return out;
}
