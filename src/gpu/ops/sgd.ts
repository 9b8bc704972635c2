/** sgd: in-place SGD step with momentum, Nesterov and weight decay (shaders/sgd.wgsl). */
import code from "../../../shaders/sgd.wgsl" with { type: "text" };
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import type { Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { expectShape, grid1d } from "./common.ts";

export const SGD: KernelSpec = { name: "sgd", code, bindings: ["uniform", "read", "write", "write"] };

/** Mirrors `struct Params` in sgd.wgsl. */
export const SGD_PARAMS: ParamsLayout = [
  ["n", "u32"],
  ["lr", "f32"],
  ["momentum", "f32"],
  ["weight_decay", "f32"],
  ["nesterov", "u32"],
];

/** Threads per workgroup (WG in the shader). */
const WG = 256;

/** Hyper-parameters of one step. */
export interface SgdStep {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Elementwise, exact up to float32 rounding of a few operations. */
export const SGD_TOLERANCE = { atol: 1e-6, rtol: 1e-5 };

/** Records w ← w − lr·update(grad, velocity) in place. */
export function encodeSgd(step: Step, w: Tensor, grad: Tensor, velocity: Tensor, h: SgdStep): void {
  expectShape("sgd", "grad", grad, w.shape);
  expectShape("sgd", "velocity", velocity, w.shape);
  const params = packParams(SGD_PARAMS, {
    n: w.size,
    lr: h.lr,
    momentum: h.momentum,
    weight_decay: h.weightDecay,
    nesterov: h.nesterov ? 1 : 0,
  });
  step.dispatch(SGD, {}, params, [grad, w, velocity], grid1d(step.gpu, ceilDiv(w.size, WG)));
}
