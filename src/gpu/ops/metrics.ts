/** metrics: accumulates loss sum, correct count, sample count and weight sum on the GPU (metrics.wgsl). */
import code from "../../../shaders/metrics.wgsl" with { type: "text" };
import type { KernelSpec } from "../pipelines.ts";
import type { Step } from "../step.ts";
import type { Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape } from "./common.ts";

export const METRICS: KernelSpec = {
  name: "metrics",
  code,
  bindings: ["uniform", "read", "read", "read", "read", "write"],
};

/** Mirrors `struct Params` in metrics.wgsl. */
export const METRICS_PARAMS: ParamsLayout = [["n", "u32"], ["c", "u32"]];

/** Records acc += [Σ loss, #correct, n, Σ weights] for one batch. `acc` is a (4) f32 tensor. */
export function encodeMetrics(
  step: Step,
  batch: { loss: Tensor; logits: Tensor; labels: Tensor<"u32">; weights: Tensor },
  acc: Tensor,
): void {
  const [n, c] = dims2("metrics", "logits", batch.logits);
  expectShape("metrics", "loss", batch.loss, [n]);
  expectShape("metrics", "labels", batch.labels, [n]);
  expectDType("metrics", "labels", batch.labels, "u32");
  expectShape("metrics", "weights", batch.weights, [n]);
  expectShape("metrics", "acc", acc, [4]);
  if (n === 0) return;
  const params = packParams(METRICS_PARAMS, { n, c });
  step.dispatch(METRICS, {}, params, [batch.loss, batch.logits, batch.labels, batch.weights, acc], [1]);
}
