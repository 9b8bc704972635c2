/**
 * Sequential models (an MLP and a LeNet-style CNN), the weighted cross-entropy step, and parameter
 * (de)serialisation. `Model.step` records a whole training step — forward, loss, backward, SGD — into
 * one `Step`, so a batch costs one submit.
 */
import type { Gpu } from "../gpu/device.ts";
import type { Step } from "../gpu/step.ts";
import { empty, type Tensor } from "../gpu/tensor.ts";
import { encodeCrossEntropy } from "../gpu/ops/cross_entropy.ts";
import { encodeSgd, type SgdStep } from "../gpu/ops/sgd.ts";
import { InvalidInputError } from "../errors.ts";
import { Rng } from "../util/rng.ts";
import { Conv2d, Flatten, type Layer, Linear, MaxPool2d, type Param, ReLU } from "./layers.ts";

/** Model architectures by name. */
export type ModelKind = "mlp" | "cnn";

/** What builds a model: the architecture, the input shape (H, W, C) and the classes. */
export interface ModelSpec {
  kind: ModelKind;
  /** Per-sample input shape, NHWC without the batch: (28, 28, 1) for Fashion-MNIST. */
  inputShape: number[];
  numClasses: number;
  /** MLP hidden sizes (default [256]). */
  hidden?: number[];
  /** CNN channels of its two conv layers (default [8, 16]) and the width of its hidden FC layer (128). */
  channels?: [number, number];
  fcWidth?: number;
  seed: number;
}

/** Tensors a batch forward pass produces that selection needs. */
export interface ForwardResult {
  /** (B, C) logits. */
  logits: Tensor;
  /** (B, D) embeddings: the input of the last linear layer. */
  hidden: Tensor;
}

/** A stack of layers ending in a Linear classifier. */
export class Model {
  readonly spec: ModelSpec;
  readonly layers: Layer[];
  readonly gpu: Gpu;
  /** Tensors recorded by the current forward/backward, released by `forget`. */
  #owned: Tensor[] = [];

  constructor(gpu: Gpu, spec: ModelSpec, layers: Layer[]) {
    this.gpu = gpu;
    this.spec = spec;
    this.layers = layers;
    if (!(layers.at(-1) instanceof Linear)) throw new Error("a model must end with a Linear layer");
  }

  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }

  /** Size of the embedding hᵢ (inputs of the last layer). */
  get embeddingDim(): number {
    return (this.layers.at(-1) as Linear).inFeatures;
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.params.reduce((s, p) => s + p.value.size, 0);
  }

  /** Records the forward pass of x (B, ...inputShape); returns logits and the last hidden activations. */
  forward(step: Step, x: Tensor, train: boolean): ForwardResult {
    let h = x;
    let hidden = x;
    for (const [i, layer] of this.layers.entries()) {
      if (i === this.layers.length - 1) {
        hidden = h.shape.length === 2 ? h : h.reshape([h.shape[0], h.size / h.shape[0]]);
      }
      h = layer.forward(step, h, train);
      this.#owned.push(h);
    }
    return { logits: h, hidden };
  }

  /** Records the backward pass from dlogits, filling every Param.grad. */
  backward(step: Step, dlogits: Tensor): void {
    let d: Tensor | null = dlogits;
    for (let i = this.layers.length - 1; i >= 0 && d; i--) {
      d = this.layers[i].backward(step, d, i > 0);
      if (d) this.#owned.push(d);
    }
  }

  /** Records SGD updates of every parameter. */
  update(step: Step, h: SgdStep): void {
    for (const p of this.params) {
      encodeSgd(step, p.value, p.grad, p.velocity, p.decay ? h : { ...h, weightDecay: 0 });
    }
  }

  /**
   * Records one training step on a batch: forward, weighted cross-entropy (Σ wᵢℓᵢ / Σ wᵢ), backward,
   * SGD. Returns the per-sample weighted losses and logits (valid until `forget`).
   */
  trainStep(step: Step, batch: Batch, h: SgdStep): { loss: Tensor; logits: Tensor } {
    const { logits } = this.forward(step, batch.x, true);
    const n = batch.x.shape[0];
    const loss = this.#own(empty(step.gpu, [n], "f32", "loss"));
    const dlogits = this.#own(empty(step.gpu, logits.shape, "f32", "dlogits"));
    encodeCrossEntropy(step, { logits, labels: batch.labels, weights: batch.weights }, { loss, dlogits }, {
      scale: batch.weightSum > 0 ? 1 / batch.weightSum : 0,
    });
    this.backward(step, dlogits);
    this.update(step, h);
    return { loss, logits };
  }

  #own<T extends Tensor>(t: T): T {
    this.#owned.push(t);
    return t;
  }

  /** Releases every activation and gradient of the last pass once `step` is submitted. */
  forget(step: Step): void {
    for (const l of this.layers) l.forget(step);
    step.release(...this.#owned);
    this.#owned = [];
  }

  /** Copies all parameters (and momentum buffers) to the CPU, in `params` order. */
  async state(): Promise<{ name: string; shape: number[]; value: Float32Array; velocity: Float32Array }[]> {
    const out = [];
    for (const p of this.params) {
      out.push({
        name: p.name,
        shape: [...p.value.shape],
        value: await p.value.read(),
        velocity: await p.velocity.read(),
      });
    }
    return out;
  }

  /** Loads parameters saved by `state`; names and shapes must match. */
  load(state: { name: string; shape: number[]; value: Float32Array; velocity?: Float32Array }[]): void {
    const params = this.params;
    if (state.length !== params.length) {
      throw new InvalidInputError(`checkpoint has ${state.length} tensors, the model ${params.length}`);
    }
    params.forEach((p, i) => {
      const s = state[i];
      if (s.name !== p.name || s.shape.join() !== p.value.shape.join()) {
        throw new InvalidInputError(
          `checkpoint tensor ${i} is ${s.name} [${s.shape}], the model expects ${p.name} [${p.value.shape}]`,
        );
      }
      p.value.write(s.value);
      p.velocity.write(s.velocity ?? new Float32Array(s.value.length));
    });
  }

  dispose(): void {
    for (const p of this.params) [p.value, p.grad, p.velocity].forEach((t) => t.dispose());
  }
}

/** A batch on the GPU. */
export interface Batch {
  /** (B, ...inputShape) f32. */
  x: Tensor;
  /** (B) u32. */
  labels: Tensor<"u32">;
  /** (B) f32 per-sample weights. */
  weights: Tensor;
  /** Σ weights (known on the CPU, where the batch was assembled). */
  weightSum: number;
}

/** Builds a model from its spec (seeded, so the same spec gives the same initial weights). */
export function buildModel(gpu: Gpu, spec: ModelSpec): Model {
  const rng = new Rng(spec.seed);
  const features = spec.inputShape.reduce((a, b) => a * b, 1);
  if (spec.kind === "mlp") {
    const sizes = [features, ...(spec.hidden ?? [256])];
    const layers: Layer[] = [new Flatten()];
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(new Linear(gpu, rng, sizes[i], sizes[i + 1], `fc${i + 1}`), new ReLU());
    }
    layers.push(new Linear(gpu, rng, sizes.at(-1)!, spec.numClasses, `fc${sizes.length}`));
    return new Model(gpu, spec, layers);
  }
  if (spec.kind === "cnn") {
    if (spec.inputShape.length !== 3) {
      throw new InvalidInputError(`cnn needs (H, W, C) inputs, got [${spec.inputShape}]`);
    }
    const [c1, c2] = spec.channels ?? [8, 16];
    const fc = spec.fcWidth ?? 128;
    const [h, w, c] = spec.inputShape;
    const layers: Layer[] = [
      new Conv2d(gpu, rng, { inChannels: c, outChannels: c1, k: 5, pad: 2 }, "conv1"),
      new ReLU(),
      new MaxPool2d(),
      new Conv2d(gpu, rng, { inChannels: c1, outChannels: c2, k: 5, pad: 2 }, "conv2"),
      new ReLU(),
      new MaxPool2d(),
      new Flatten(),
    ];
    const flat = Math.floor(Math.floor(h / 2) / 2) * Math.floor(Math.floor(w / 2) / 2) * c2;
    layers.push(
      new Linear(gpu, rng, flat, fc, "fc1"),
      new ReLU(),
      new Linear(gpu, rng, fc, spec.numClasses, "fc2"),
    );
    return new Model(gpu, spec, layers);
  }
  throw new InvalidInputError(`unknown model "${(spec as ModelSpec).kind}": use mlp or cnn`);
}

/**
 * Models run channels-last (NHWC). Datasets describe images channels-first, (C, H, W), as IDX and
 * PyTorch do; this maps such a shape to (H, W, C). Other shapes are kept. With C = 1 the bytes are the
 * same either way; `toChannelsLast` moves the data when C > 1.
 */
export function channelsLastShape(inputShape: readonly number[]): number[] {
  if (inputShape.length === 3) {
    const [c, h, w] = inputShape;
    return [h, w, c];
  }
  return [...inputShape];
}

/** (n, C, H, W) features → (n, H, W, C); returns the input itself when C = 1 or the shape is not 3-D. */
export function toChannelsLast(features: Float32Array, inputShape: readonly number[]): Float32Array {
  if (inputShape.length !== 3 || inputShape[0] === 1) return features;
  const [c, h, w] = inputShape;
  const per = c * h * w;
  const out = new Float32Array(features.length);
  for (let base = 0; base < features.length; base += per) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) out[base + p * c + ch] = features[base + ch * h * w + p];
    }
  }
  return out;
}
