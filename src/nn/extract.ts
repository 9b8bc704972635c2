/**
 * Extraction for selection: for every sample (or a given index set), in batches, on the GPU, the
 * embedding hᵢ (input of the last linear layer), the error eᵢ = softmax(zᵢ) − onehot(yᵢ), the loss ℓᵢ,
 * and on request (`grads`) the materialised last-layer gradient gᵢ = [eᵢ ⊗ hᵢ, eᵢ]. The results stay on the GPU
 * (selection kernels read them there); batches are copied into place with buffer copies.
 */
import { Step } from "../gpu/step.ts";
import { empty, type Tensor, tensor } from "../gpu/tensor.ts";
import { encodeCrossEntropy } from "../gpu/ops/cross_entropy.ts";
import { perSampleGrad } from "../gpu/ops/per_sample_grad.ts";
import { InvalidInputError, throwIfAborted } from "../errors.ts";
import type { Model } from "./model.ts";
import type { Split } from "./train.ts";

/** GPU-resident extraction results, rows in the order of the requested indices. */
export interface Extraction {
  /** (n, D) embeddings. */
  h: Tensor;
  /** (n, C) errors softmax(z) − onehot(y). */
  e: Tensor;
  /** (n) per-sample cross-entropy losses. */
  loss: Tensor;
  /** (n, C·(D+1)) materialised gradients gᵢ = [eᵢ ⊗ hᵢ, eᵢ], when asked for with `grads`. */
  g: Tensor | null;
  /** The dataset rows the extraction rows stand for. */
  indices: Uint32Array;
  dispose(): void;
}

/** Options of `extract`. */
export interface ExtractOptions {
  /** Rows to extract (default: all, in order). */
  indices?: Uint32Array;
  batchSize?: number;
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
  /**
   * Also materialise gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (n × C·(D+1) floats: 617 MB for all of Fashion-MNIST with D = 256,
   * so ask for it per class or for an index set; selection normally uses the factored form instead).
   */
  grads?: boolean;
}

/** Runs the model (eval mode) over `split` in batches and keeps h, e and ℓ on the GPU. */
export async function extract(model: Model, split: Split, opts: ExtractOptions = {}): Promise<Extraction> {
  const gpu = model.gpu;
  const total = split.labels.length;
  const indices = opts.indices ?? Uint32Array.from({ length: total }, (_, i) => i);
  for (const i of indices) {
    if (i >= total) throw new InvalidInputError(`extract: index ${i} out of range (n = ${total})`);
  }
  const n = indices.length;
  const dim = model.embeddingDim;
  const c = model.spec.numClasses;
  const featureSize = model.spec.inputShape.reduce((a, b) => a * b, 1);
  const bs = opts.batchSize ?? 1000;
  const h = empty(gpu, [n, dim], "f32", "extract.h");
  const e = empty(gpu, [n, c], "f32", "extract.e");
  const loss = empty(gpu, [n], "f32", "extract.loss");
  try {
    for (let r = 0; r < n; r += bs) {
      throwIfAborted(opts.signal);
      const b = Math.min(bs, n - r);
      const x = new Float32Array(b * featureSize);
      const y = new Uint32Array(b);
      for (let i = 0; i < b; i++) {
        const row = indices[r + i];
        x.set(split.features.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
        y[i] = split.labels[row];
      }
      const xt = tensor(gpu, x, [b, ...model.spec.inputShape], "extract.x");
      const yt = tensor(gpu, y, [b], "extract.y");
      const wt = tensor(gpu, new Float32Array(b).fill(1), [b], "extract.w");
      const bl = empty(gpu, [b], "f32", "extract.batch_loss");
      const be = empty(gpu, [b, c], "f32", "extract.batch_e");
      const step = new Step(gpu, "extract");
      const { logits, hidden } = model.forward(step, xt, false);
      // With unit weights and scale 1, the cross-entropy gradient is exactly eᵢ = softmax(zᵢ) − onehot(yᵢ).
      encodeCrossEntropy(step, { logits, labels: yt, weights: wt }, { loss: bl, dlogits: be }, { scale: 1 });
      step.copy(hidden, h, b * dim * 4, 0, r * dim * 4);
      step.copy(be, e, b * c * 4, 0, r * c * 4);
      step.copy(bl, loss, b * 4, 0, r * 4);
      model.forget(step);
      step.release(xt, yt, wt, bl, be);
      await step.submit();
      opts.progress?.(r + b, n);
    }
    await gpu.device.queue.onSubmittedWorkDone();
  } catch (err) {
    [h, e, loss].forEach((t) => t.dispose());
    throw err;
  }
  let g: Tensor | null = null;
  if (opts.grads) {
    const step = new Step(gpu, "extract.grads");
    g = perSampleGrad(step, e, h, { bias: true });
    await step.submit();
  }
  const all = () => [h, e, loss, g].forEach((t) => t?.dispose());
  return { h, e, loss, g, indices, dispose: all };
}
