/**
 * maxpool: 2×2, stride-2 max pooling over an NHWC batch (shaders/maxpool.wgsl), returning the window
 * position of each maximum, and its backward pass (shaders/maxpool_backward.wgsl), which routes dy to
 * those positions. Odd H or W drop the last row or column (Ho = ⌊H/2⌋). Batches too large for one
 * storage binding are split into chunks of whole images.
 */
import forwardCode from "../../../shaders/maxpool.wgsl" with { type: "text" };
import backwardCode from "../../../shaders/maxpool_backward.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { type Binding, ceilDiv, type Step } from "../step.ts";
import { type DType, empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { expectDType, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";

export const MAXPOOL: KernelSpec = {
  name: "maxpool",
  code: forwardCode,
  bindings: ["uniform", "read", "write", "write"],
};
export const MAXPOOL_BACKWARD: KernelSpec = {
  name: "maxpool_backward",
  code: backwardCode,
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in maxpool.wgsl. */
export const MAXPOOL_PARAMS: ParamsLayout = [
  ["batch", "u32"],
  ["h", "u32"],
  ["w", "u32"],
  ["c", "u32"],
  ["ho", "u32"],
  ["wo", "u32"],
];

/** Mirrors `struct Params` in maxpool_backward.wgsl (the same fields as the forward's). */
export const MAXPOOL_BACKWARD_PARAMS: ParamsLayout = MAXPOOL_PARAMS;

/** Threads per workgroup (WG in both shaders). */
const WG = 256;

/** Both passes only select and copy values: exact. */
export const MAXPOOL_TOLERANCE = { atol: 0, rtol: 0 };

/** Validated sizes: input (b, h, w, c) and output (ho, wo). */
export interface MaxpoolGeometry {
  b: number;
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
}

/** Validates an NHWC input shape (B, H, W, C); throws ShapeError naming `kernel`. */
export function maxpoolGeometry(kernel: string, xShape: readonly number[]): MaxpoolGeometry {
  if (xShape.length !== 4) {
    throw new ShapeError(`${kernel}: the input must be 4-D (B, H, W, C), got ${fmtShape(xShape)}`);
  }
  const [b, h, w, c] = xShape;
  if (h < 2 || w < 2 || c < 1) {
    throw new ShapeError(
      `${kernel}: the input ${fmtShape(xShape)} needs H ≥ 2 and W ≥ 2 for a 2×2 window, and C ≥ 1`,
    );
  }
  return { b, h, w, c, ho: Math.floor(h / 2), wo: Math.floor(w / 2) };
}

/** Shape (B, Ho, Wo, C) of the pooled output. */
export function pooledShape(g: MaxpoolGeometry): [number, number, number, number] {
  return [g.b, g.ho, g.wo, g.c];
}

/** Records y = maxpool(x) and its window positions into `step`. */
export function encodeMaxpool(step: Step, x: Tensor, y: Tensor, argmax: Tensor<"u32">): void {
  const g = maxpoolGeometry("maxpool", x.shape);
  expectDType("maxpool", "x", x, "f32");
  expectShape("maxpool", "y", y, pooledShape(g));
  expectShape("maxpool", "argmax", argmax, pooledShape(g));
  expectDType("maxpool", "argmax", argmax, "u32");
  encodeByImage(step, MAXPOOL, g, [x], [y, argmax], false);
}

/** maxpool(x) into new (B, Ho, Wo, C) tensors: the maxima and their window positions 0..3. */
export function maxpool(step: Step, x: Tensor): { y: Tensor; argmax: Tensor<"u32"> } {
  const shape = pooledShape(maxpoolGeometry("maxpool", x.shape));
  const y = empty(step.gpu, shape, "f32", "maxpool.y");
  const argmax = empty(step.gpu, shape, "u32", "maxpool.argmax");
  encodeMaxpool(step, x, y, argmax);
  return { y, argmax };
}

/** Records dx = maxpool′ᵀ(dy) into `step`, routing by the forward pass's `argmax`. */
export function encodeMaxpoolBackward(step: Step, dy: Tensor, argmax: Tensor<"u32">, dx: Tensor): void {
  const g = maxpoolGeometry("maxpool_backward", dx.shape);
  expectDType("maxpool_backward", "dx", dx, "f32");
  expectShape("maxpool_backward", "dy", dy, pooledShape(g));
  expectShape("maxpool_backward", "argmax", argmax, pooledShape(g));
  expectDType("maxpool_backward", "argmax", argmax, "u32");
  encodeByImage(step, MAXPOOL_BACKWARD, g, [dy, argmax], [dx], true);
}

/** Options of `maxpoolBackward`. */
export interface MaxpoolBackwardOptions {
  /** (B, H, W, C) of the forward input, which dy alone does not determine when H or W is odd. */
  xShape: readonly number[];
}

/** The gradient with respect to the forward input, into a new (B, H, W, C) tensor. */
export function maxpoolBackward(
  step: Step,
  dy: Tensor,
  argmax: Tensor<"u32">,
  opts: MaxpoolBackwardOptions,
): Tensor {
  maxpoolGeometry("maxpool_backward", opts.xShape);
  const dx = empty(step.gpu, opts.xShape, "f32", "maxpool_backward.dx");
  encodeMaxpoolBackward(step, dy, argmax, dx);
  return dx;
}

/**
 * One dispatch per chunk of whole images that fits the binding limit. Pooled tensors hold Ho·Wo·C
 * elements per image and full-size ones H·W·C; one thread writes each element of the outputs, which
 * are full-size for the backward pass and pooled for the forward.
 */
function encodeByImage(
  step: Step,
  spec: KernelSpec,
  g: MaxpoolGeometry,
  inputs: Tensor<DType>[],
  outputs: Tensor<DType>[],
  backward: boolean,
): void {
  if (g.b === 0) return;
  const pooled = g.ho * g.wo * g.c * 4;
  const full = g.h * g.w * g.c * 4;
  const [inBytes, outBytes] = backward ? [pooled, full] : [full, pooled];
  const chunks = rowChunks(step.gpu, g.b, [inBytes, outBytes]);
  for (const [b0, batch] of chunks) {
    const slice = (t: Tensor<DType>, bytes: number): Binding =>
      chunks.length === 1 ? t : rowSlice(t, b0, batch, bytes);
    const params = packParams(MAXPOOL_PARAMS, { ...g, batch });
    step.dispatch(spec, {}, params, [
      ...inputs.map((t) => slice(t, inBytes)),
      ...outputs.map((t) => slice(t, outBytes)),
    ], grid1d(step.gpu, ceilDiv(batch * outBytes / 4, WG)));
  }
}
