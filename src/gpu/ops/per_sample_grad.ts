/**
 * per_sample_grad: per-sample last-layer gradients gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (n, C·(D + 1)), or the weight part
 * eᵢ ⊗ hᵢ alone (n, C·D), materialised on the GPU (shaders/per_sample_grad.wgsl). For Gram matrices prefer
 * factor_gram, which never forms them. Rows are split into chunks when they exceed the binding limit.
 */
import code from "../../../shaders/per_sample_grad.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, rowChunks, rowSlice } from "./common.ts";

export const PER_SAMPLE_GRAD: KernelSpec = {
  name: "per_sample_grad",
  code,
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in per_sample_grad.wgsl. */
export const PER_SAMPLE_GRAD_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"], ["d", "u32"]];

/** Entries of a row of g per workgroup (WGS in the shader). */
const WGS = 64;

/** Float32 tolerance: each entry is one rounded product (or a copy), so a few units in the last place. */
export function perSampleGradTolerance(): { atol: number; rtol: number } {
  return { atol: 1e-7, rtol: 2.4e-7 };
}

/** Options of `encodePerSampleGrad`. */
export interface PerSampleGradOptions {
  /** Append the bias part eᵢ (default true); false keeps the weight part eᵢ ⊗ hᵢ only (NFG). */
  bias?: boolean;
}

/** The (n, C, D, width) of the gradients of e (n, C) and h (n, D), validated. */
export function perSampleGradShape(
  e: Tensor,
  h: Tensor,
  opts: PerSampleGradOptions = {},
): [number, number, number, number] {
  const [n, c] = dims2("per_sample_grad", "e", e);
  const [n2, d] = dims2("per_sample_grad", "h", h);
  expectDType("per_sample_grad", "e", e, "f32");
  expectDType("per_sample_grad", "h", h, "f32");
  if (n !== n2) {
    throw new ShapeError(
      `per_sample_grad: e and h must have as many rows: e is ${fmtShape(e.shape)}, h is ${fmtShape(h.shape)}`,
    );
  }
  return [n, c, d, (opts.bias ?? true) ? c * (d + 1) : c * d];
}

/** Records g = [e ⊗ h, e] (or e ⊗ h) into `g` (n, width). */
export function encodePerSampleGrad(
  step: Step,
  e: Tensor,
  h: Tensor,
  g: Tensor,
  opts: PerSampleGradOptions = {},
): void {
  const [n, c, d, width] = perSampleGradShape(e, h, opts);
  expectShape("per_sample_grad", "g", g, [n, width]);
  expectDType("per_sample_grad", "g", g, "f32");
  if (n === 0 || width === 0) return;
  const constants = { BIAS: opts.bias ?? true };
  const max = step.gpu.limits.maxComputeWorkgroupsPerDimension;
  const chunks = rowChunks(step.gpu, n, [c * 4, d * 4, width * 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    step.dispatch(PER_SAMPLE_GRAD, constants, packParams(PER_SAMPLE_GRAD_PARAMS, { n: rows, c, d }), [
      whole ? e : rowSlice(e, r0, rows, c * 4),
      whole ? h : rowSlice(h, r0, rows, d * 4),
      whole ? g : rowSlice(g, r0, rows, width * 4),
    ], [Math.min(ceilDiv(width, WGS), max), Math.min(rows, max)]);
  }
}

/** The per-sample gradients of e and h into a new (n, width) tensor. */
export function perSampleGrad(step: Step, e: Tensor, h: Tensor, opts: PerSampleGradOptions = {}): Tensor {
  const [n, , , width] = perSampleGradShape(e, h, opts);
  const g = empty(step.gpu, [n, width], "f32", "per_sample_grad.out");
  encodePerSampleGrad(step, e, h, g, opts);
  return g;
}
