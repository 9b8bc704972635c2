/**
 * cross_entropy: weighted softmax cross-entropy forward and backward in one kernel
 * (shaders/cross_entropy.wgsl). From logits (n, c), labels (n) and weights (n) it writes the per-sample
 * loss w_i · ℓ_i (n) and dlogits = scale · w_i · (softmax(z_i) − onehot(y_i)) (n, c); pass
 * scale = 1 / Σ w for the gradient of the weighted mean. Rows are split into chunks when the logits
 * exceed the storage binding limit.
 */
import own from "../../../shaders/cross_entropy.wgsl" with { type: "text" };
import reductions from "../../../shaders/row_reductions.wgsl" with { type: "text" };

/** The kernel source with the shared row reductions prepended. */
const code = `${reductions}\n${own}`;
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import type { Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";
import { rowThreads } from "./rows.ts";

export const CROSS_ENTROPY: KernelSpec = {
  name: "cross_entropy",
  code,
  bindings: ["uniform", "read", "read", "read", "write", "write"],
};

/** Mirrors `struct Params` in cross_entropy.wgsl. */
export const CROSS_ENTROPY_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"], ["scale", "f32"]];

/**
 * Float32 tolerance for c classes, relative to the magnitude of the loss (or of scale · w for the
 * gradient): exp and log are accurate to a few ulp, and the row sum of c terms to about √c ulp.
 */
export function crossEntropyTolerance(c: number): { atol: number; rtol: number } {
  return { atol: 2e-7 * Math.sqrt(Math.max(c, 1)), rtol: 4e-6 };
}

/** What the kernel reads: logits (n, c) f32, labels (n) u32 in [0, c), weights (n) f32. */
export interface CrossEntropyInputs {
  logits: Tensor;
  labels: Tensor<"u32">;
  weights: Tensor;
}

/** What the kernel writes: loss (n) f32 = w_i · ℓ_i, dlogits (n, c) f32. */
export interface CrossEntropyOutputs {
  loss: Tensor;
  dlogits: Tensor;
}

/** Options of `encodeCrossEntropy`. */
export interface CrossEntropyOptions {
  /** Factor of the gradient (default 1); 1 / Σ w gives the gradient of the weighted mean loss. */
  scale?: number;
}

/** The (n, c) of the logits, validated against labels and weights. */
export function crossEntropyShape(inputs: CrossEntropyInputs): [number, number] {
  const { logits, labels, weights } = inputs;
  const [n, c] = dims2("cross_entropy", "logits", logits);
  if (n > 0 && c === 0) {
    throw new ShapeError(`cross_entropy: logits ${fmtShape(logits.shape)} have no classes`);
  }
  for (const [name, t] of [["labels", labels], ["weights", weights]] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== n) {
      throw new ShapeError(
        `cross_entropy: ${name} must have shape (${n}) to match logits ${fmtShape(logits.shape)}, ` +
          `got ${fmtShape(t.shape)}`,
      );
    }
  }
  expectDType("cross_entropy", "labels", labels, "u32");
  expectDType("cross_entropy", "weights", weights, "f32");
  return [n, c];
}

/** Records the per-sample loss and dlogits into `step`. */
export function encodeCrossEntropy(
  step: Step,
  inputs: CrossEntropyInputs,
  out: CrossEntropyOutputs,
  opts: CrossEntropyOptions = {},
): void {
  const [n, c] = crossEntropyShape(inputs);
  expectShape("cross_entropy", "loss", out.loss, [n]);
  expectShape("cross_entropy", "dlogits", out.dlogits, [n, c]);
  if (n === 0) return;
  const constants = { WG: rowThreads(c) };
  const chunks = rowChunks(step.gpu, n, [c * 4, 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const wide = (t: Tensor) => whole ? t : rowSlice(t, r0, rows, c * 4);
    const narrow = (t: Tensor<"u32" | "f32">) => whole ? t : rowSlice(t, r0, rows, 4);
    const params = packParams(CROSS_ENTROPY_PARAMS, { n: rows, c, scale: opts.scale ?? 1 });
    step.dispatch(CROSS_ENTROPY, constants, params, [
      wide(inputs.logits),
      narrow(inputs.labels),
      narrow(inputs.weights),
      narrow(out.loss),
      wide(out.dlogits),
    ], grid1d(step.gpu, rows));
  }
}

/** The per-sample loss (n) and dlogits (n, c) in new tensors. */
export function crossEntropy(
  step: Step,
  inputs: CrossEntropyInputs,
  opts: CrossEntropyOptions = {},
): CrossEntropyOutputs {
  const [n, c] = crossEntropyShape(inputs);
  const out = {
    loss: empty(step.gpu, [n], "f32", "cross_entropy.loss"),
    dlogits: empty(step.gpu, [n, c], "f32", "cross_entropy.dlogits"),
  };
  encodeCrossEntropy(step, inputs, out, opts);
  return out;
}
