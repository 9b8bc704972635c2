/**
 * masked_argmax: the lowest index maximising v (n) over the entries whose mask is 0, optionally over
 * positive entries only (shaders/masked_argmax.wgsl). OMP's selection step: the result is a (2) u32
 * tensor (index, f32 bits of the value), 8 bytes to read back per iteration. Two dispatches in one
 * step: per-workgroup partials, then one workgroup over the partials.
 */
import code from "../../../shaders/masked_argmax.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { expectDType, expectShape, fmtShape } from "./common.ts";

/** Both passes bind the same buffers: params, v, mask, partials, out. */
const BINDINGS = ["uniform", "read", "read", "write", "write"] as const;

/** First pass: one (key, index) partial per workgroup. */
export const MASKED_ARGMAX_PARTIAL: KernelSpec = {
  name: "masked_argmax",
  code,
  entry: "partial",
  bindings: BINDINGS,
};

/** Second pass: the winner of the partials into out. */
export const MASKED_ARGMAX_FINISH: KernelSpec = {
  name: "masked_argmax",
  code,
  entry: "finish",
  bindings: BINDINGS,
};

/** Mirrors `struct Params` in masked_argmax.wgsl. */
export const MASKED_ARGMAX_PARAMS: ParamsLayout = [["n", "u32"], ["groups", "u32"]];

/** The index written when no entry qualifies. */
export const NO_INDEX = 0xffffffff;

/** Threads per workgroup (WG in the shader). */
const WG = 256;

/**
 * Most workgroups in the first pass: 1024 × 256 threads is about what a large GPU keeps resident (an
 * H100 holds ~270k threads), while the second pass stays one workgroup reading at most 1024 partials.
 */
const MAX_GROUPS = 1024;

/** Options of `encodeMaskedArgmax`. */
export interface MaskedArgmaxOptions {
  /** Only entries with v > 0 qualify (OMP's non-negative mode); default false. */
  positiveOnly?: boolean;
}

/** A decoded result: the winning index and its value. */
export interface MaskedArgmaxResult {
  index: number;
  value: number;
}

/** The n of v (n) f32, validated against mask (n) u32. */
export function maskedArgmaxShape(v: Tensor, mask: Tensor<"u32">): number {
  if (v.shape.length !== 1) {
    throw new ShapeError(`masked_argmax: v must be 1-D, got shape ${fmtShape(v.shape)}`);
  }
  const n = v.shape[0];
  if (mask.shape.length !== 1 || mask.shape[0] !== n) {
    throw new ShapeError(
      `masked_argmax: mask must have shape (${n}) to match v ${fmtShape(v.shape)}, got ${
        fmtShape(mask.shape)
      }`,
    );
  }
  expectDType("masked_argmax", "v", v, "f32");
  expectDType("masked_argmax", "mask", mask, "u32");
  return n;
}

/** Records the search into `step`; out (2) u32 receives (index, value bits), index NO_INDEX if none. */
export function encodeMaskedArgmax(
  step: Step,
  v: Tensor,
  mask: Tensor<"u32">,
  out: Tensor<"u32">,
  opts: MaskedArgmaxOptions = {},
): void {
  const n = maskedArgmaxShape(v, mask);
  expectShape("masked_argmax", "out", out, [2]);
  expectDType("masked_argmax", "out", out, "u32");
  const groups = Math.min(ceilDiv(n, WG), MAX_GROUPS);
  const partials = empty(step.gpu, [groups, 2], "u32", "masked_argmax.partials");
  const params = packParams(MASKED_ARGMAX_PARAMS, { n, groups });
  const bindings = [v, mask, partials, out];
  step.dispatch(MASKED_ARGMAX_PARTIAL, { POSITIVE_ONLY: !!opts.positiveOnly }, params, bindings, [groups]);
  // Dispatches in one compute pass run in order, so finish sees every partial; n = 0 gives NO_INDEX.
  step.dispatch(MASKED_ARGMAX_FINISH, {}, params, bindings, [1]);
  step.release(partials);
}

/** The search into a new (2) u32 tensor; read it and pass it to `decodeMaskedArgmax`. */
export function maskedArgmax(
  step: Step,
  v: Tensor,
  mask: Tensor<"u32">,
  opts: MaskedArgmaxOptions = {},
): Tensor<"u32"> {
  const out = empty(step.gpu, [2], "u32", "masked_argmax.out");
  encodeMaskedArgmax(step, v, mask, out, opts);
  return out;
}

/** (index, value bits) as read back, decoded; null when no entry qualified. */
export function decodeMaskedArgmax(words: Uint32Array): MaskedArgmaxResult | null {
  if (words[0] === NO_INDEX) return null;
  return { index: words[0], value: new Float32Array(Uint32Array.of(words[1]).buffer)[0] };
}
