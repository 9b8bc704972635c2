/**
 * relu: y = max(x, 0) and its backward dx = dy · [x > 0] on the GPU (shaders/relu.wgsl), element-wise
 * over tensors of any shape. Elements are split into chunks when a tensor exceeds the storage binding
 * limit.
 */
import code from "../../../shaders/relu.wgsl" with { type: "text" };
import type { KernelSpec } from "../pipelines.ts";
import { type Binding, ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { expectShape, grid1d, rowChunks, rowSlice } from "./common.ts";

/** y = max(x, 0). */
export const RELU: KernelSpec = {
  name: "relu",
  code,
  entry: "forward",
  bindings: ["uniform", "read", "write"],
};

/** dx = dy · [x > 0]. */
export const RELU_BACKWARD: KernelSpec = {
  name: "relu",
  code,
  entry: "backward",
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in relu.wgsl. */
export const RELU_PARAMS: ParamsLayout = [["size", "u32"]];

/** Threads per workgroup (WG in the shader). */
const WG = 256;

/** Both directions select or copy a float, so they are exact. */
export function reluTolerance(): { atol: number; rtol: number } {
  return { atol: 0, rtol: 0 };
}

/** Dispatches `spec` over `tensors` (all of x's size), chunk by chunk under the binding limit. */
function encodeElementwise(step: Step, spec: KernelSpec, tensors: readonly Tensor[]): void {
  const size = tensors[0].size;
  for (const [e0, count] of rowChunks(step.gpu, size, [4])) {
    const bindings: Binding[] = tensors.map((t) => count === size ? t : rowSlice(t, e0, count, 4));
    const params = packParams(RELU_PARAMS, { size: count });
    step.dispatch(spec, {}, params, bindings, grid1d(step.gpu, ceilDiv(count, WG)));
  }
}

/** Records y = max(x, 0) into `step`; y has x's shape. */
export function encodeRelu(step: Step, x: Tensor, y: Tensor): void {
  expectShape("relu", "y", y, x.shape);
  encodeElementwise(step, RELU, [x, y]);
}

/** max(x, 0) into a new tensor of x's shape. */
export function relu(step: Step, x: Tensor): Tensor {
  const y = empty(step.gpu, x.shape, "f32", "relu.out");
  encodeRelu(step, x, y);
  return y;
}

/** Records dx = dy · [x > 0] into `step`, with x the forward input; dy and dx have x's shape. */
export function encodeReluBackward(step: Step, x: Tensor, dy: Tensor, dx: Tensor): void {
  expectShape("relu backward", "dy", dy, x.shape);
  expectShape("relu backward", "dx", dx, x.shape);
  encodeElementwise(step, RELU_BACKWARD, [x, dy, dx]);
}

/** dy · [x > 0] into a new tensor of x's shape. */
export function reluBackward(step: Step, x: Tensor, dy: Tensor): Tensor {
  expectShape("relu backward", "dy", dy, x.shape);
  const dx = empty(step.gpu, x.shape, "f32", "relu_backward.out");
  encodeReluBackward(step, x, dy, dx);
  return dx;
}
