/**
 * im2col and its adjoint col2im (shaders/im2col.wgsl, shaders/col2im.wgsl): the layout half of a
 * stride-1 NHWC convolution, y = im2col(x) · Wt with Wt stored (k·k·Cin, Cout), and of its input
 * gradient, dx = col2im(dy · Wtᵀ). Batches too large for one storage binding are split into chunks of
 * whole images.
 */
import im2colCode from "../../../shaders/im2col.wgsl" with { type: "text" };
import col2imCode from "../../../shaders/col2im.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { expectDType, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";

export const IM2COL: KernelSpec = {
  name: "im2col",
  code: im2colCode,
  bindings: ["uniform", "read", "write"],
};
export const COL2IM: KernelSpec = {
  name: "col2im",
  code: col2imCode,
  bindings: ["uniform", "read", "write"],
};

/** Mirrors `struct Params` in im2col.wgsl. */
export const IM2COL_PARAMS: ParamsLayout = [
  ["batch", "u32"],
  ["h", "u32"],
  ["w", "u32"],
  ["cin", "u32"],
  ["k", "u32"],
  ["pad", "u32"],
  ["ho", "u32"],
  ["wo", "u32"],
];

/** Mirrors `struct Params` in col2im.wgsl (the same fields as im2col's). */
export const COL2IM_PARAMS: ParamsLayout = IM2COL_PARAMS;

/** Threads per workgroup (WG in both shaders). */
const WG = 256;

/** im2col only copies values: exact. */
export const IM2COL_TOLERANCE = { atol: 0, rtol: 0 };

/** Float32 tolerance of col2im, a sum of at most k·k terms: widened by √(k·k) = k. */
export function col2imTolerance(k: number): { atol: number; rtol: number } {
  return { atol: 1e-6 * k, rtol: 2e-6 * k };
}

/** Convolution geometry: square kernel, stride 1, the same zero padding on every side. */
export interface Im2colOptions {
  /** Kernel side k ≥ 1. */
  k: number;
  /** Zero padding on every side (default 0). */
  pad?: number;
}

/** Validated sizes of one im2col / col2im: image (b, h, w, cin), kernel, padding and patch grid. */
export interface Im2colGeometry {
  b: number;
  h: number;
  w: number;
  cin: number;
  k: number;
  pad: number;
  ho: number;
  wo: number;
}

/** Validates an NHWC image shape (B, H, W, Cin) against the kernel; throws ShapeError naming `kernel`. */
export function im2colGeometry(
  kernel: string,
  xShape: readonly number[],
  opts: Im2colOptions,
): Im2colGeometry {
  const { k, pad = 0 } = opts;
  const bad = (why: string) =>
    new ShapeError(`${kernel}: ${why} (image ${fmtShape(xShape)}, k = ${k}, pad = ${pad})`);
  if (xShape.length !== 4) throw bad("the image must be 4-D (B, H, W, Cin)");
  if (!Number.isInteger(k) || k < 1) throw bad("k must be an integer ≥ 1");
  if (!Number.isInteger(pad) || pad < 0) throw bad("pad must be an integer ≥ 0");
  const [b, h, w, cin] = xShape;
  if (h < 1 || w < 1 || cin < 1) throw bad("H, W and Cin must be ≥ 1");
  const ho = h + 2 * pad - k + 1;
  const wo = w + 2 * pad - k + 1;
  if (ho < 1 || wo < 1) throw bad(`the kernel is larger than the padded image (Ho = ${ho}, Wo = ${wo})`);
  return { b, h, w, cin, k, pad, ho, wo };
}

/** Shape (B·Ho·Wo, k·k·Cin) of the patch matrix. */
export function colsShape(g: Im2colGeometry): [number, number] {
  return [g.b * g.ho * g.wo, g.k * g.k * g.cin];
}

/** Records cols = im2col(x) into `step`; x is (B, H, W, Cin), cols (B·Ho·Wo, k·k·Cin). */
export function encodeIm2col(step: Step, x: Tensor, cols: Tensor, opts: Im2colOptions): void {
  const g = im2colGeometry("im2col", x.shape, opts);
  expectDType("im2col", "x", x, "f32");
  expectShape("im2col", "cols", cols, colsShape(g));
  encodeByImage(step, IM2COL, g, x, cols, [g.h * g.w * g.cin, g.ho * g.wo * g.k * g.k * g.cin]);
}

/** im2col(x) into a new (B·Ho·Wo, k·k·Cin) tensor. */
export function im2col(step: Step, x: Tensor, opts: Im2colOptions): Tensor {
  const cols = empty(step.gpu, colsShape(im2colGeometry("im2col", x.shape, opts)), "f32", "im2col.out");
  encodeIm2col(step, x, cols, opts);
  return cols;
}

/** Records dx = col2im(dcols) into `step`; dcols is (B·Ho·Wo, k·k·Cin), dx (B, H, W, Cin). */
export function encodeCol2im(step: Step, dcols: Tensor, dx: Tensor, opts: Im2colOptions): void {
  const g = im2colGeometry("col2im", dx.shape, opts);
  expectDType("col2im", "dx", dx, "f32");
  expectShape("col2im", "dcols", dcols, colsShape(g));
  encodeByImage(step, COL2IM, g, dcols, dx, [g.ho * g.wo * g.k * g.k * g.cin, g.h * g.w * g.cin]);
}

/** Options of `col2im`: the geometry and the image shape, which dcols alone does not determine. */
export interface Col2imOptions extends Im2colOptions {
  /** (B, H, W, Cin) of the image im2col read. */
  xShape: readonly number[];
}

/** col2im(dcols) into a new (B, H, W, Cin) tensor. */
export function col2im(step: Step, dcols: Tensor, opts: Col2imOptions): Tensor {
  im2colGeometry("col2im", opts.xShape, opts);
  const dx = empty(step.gpu, opts.xShape, "f32", "col2im.out");
  encodeCol2im(step, dcols, dx, opts);
  return dx;
}

/**
 * One dispatch per chunk of whole images that fits the binding limit: `src` and `dst` hold
 * `perImage[0]` and `perImage[1]` f32 per image, and one thread writes each dst element.
 */
function encodeByImage(
  step: Step,
  spec: KernelSpec,
  g: Im2colGeometry,
  src: Tensor,
  dst: Tensor,
  perImage: [number, number],
): void {
  if (g.b === 0) return;
  const [srcBytes, dstBytes] = [perImage[0] * 4, perImage[1] * 4];
  const chunks = rowChunks(step.gpu, g.b, [srcBytes, dstBytes]);
  for (const [b0, batch] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(IM2COL_PARAMS, { ...g, batch });
    step.dispatch(spec, {}, params, [
      whole ? src : rowSlice(src, b0, batch, srcBytes),
      whole ? dst : rowSlice(dst, b0, batch, dstBytes),
    ], grid1d(step.gpu, ceilDiv(batch * perImage[1], WG)));
  }
}
