/**
 * Layers of the small models gradsift trains, forward and backward on the GPU. Activations are NHWC
 * (batch, height, width, channels), row-major, so a convolution is im2col + one matmul with no
 * transposes and Flatten is free. Each layer records into a `Step`; it keeps what its backward pass
 * needs from the last forward call, and hands tensors it no longer needs to `step.release`.
 */
import type { Gpu } from "../gpu/device.ts";
import type { Step } from "../gpu/step.ts";
import { empty, type Tensor, tensor } from "../gpu/tensor.ts";
import { encodeMatmul } from "../gpu/ops/matmul.ts";
import { encodeBiasAdd } from "../gpu/ops/bias_add.ts";
import { encodeRelu, encodeReluBackward } from "../gpu/ops/relu.ts";
import { encodeColSum } from "../gpu/ops/reduce_cols.ts";
import { colsShape, encodeCol2im, encodeIm2col, im2colGeometry } from "../gpu/ops/im2col.ts";
import { encodeMaxpool, encodeMaxpoolBackward, maxpoolGeometry, pooledShape } from "../gpu/ops/maxpool.ts";
import { ShapeError } from "../errors.ts";
import type { Rng } from "../util/rng.ts";

/** A trainable tensor with its gradient and SGD momentum buffer. */
export interface Param {
  name: string;
  value: Tensor;
  grad: Tensor;
  velocity: Tensor;
  /** Whether weight decay applies (weights yes, biases no — the common convention). */
  decay: boolean;
}

/** One layer. Shapes exclude the batch dimension. */
export interface Layer {
  readonly kind: string;
  readonly params: readonly Param[];
  /** Per-sample output shape for a per-sample input shape. */
  outShape(inShape: readonly number[]): number[];
  /** Records y = f(x); x is (B, ...inShape). Keeps what backward needs. */
  forward(step: Step, x: Tensor, train: boolean): Tensor;
  /** Records dx from dy (and parameter gradients); `needInput` false skips dx (first layer). */
  backward(step: Step, dy: Tensor, needInput: boolean): Tensor | null;
  /** Drops what forward kept (releasing it after the step is submitted). */
  forget(step: Step): void;
}

function param(gpu: Gpu, name: string, data: Float32Array, shape: number[], decay: boolean): Param {
  return {
    name,
    value: tensor(gpu, data, shape, name),
    grad: empty(gpu, shape, "f32", `${name}.grad`),
    velocity: tensor(gpu, new Float32Array(data.length), shape, `${name}.velocity`),
    decay,
  };
}

/** Kaiming (He) normal initialisation for ReLU networks: N(0, 2 / fan_in). */
export function kaiming(rng: Rng, fanIn: number, count: number): Float32Array {
  return rng.normals(count, Math.sqrt(2 / Math.max(1, fanIn)));
}

const batchOf = (x: Tensor) => x.shape[0];

/** y = x·W + b with W (in, out). */
export class Linear implements Layer {
  readonly kind = "linear";
  readonly params: Param[];
  readonly inFeatures: number;
  readonly outFeatures: number;
  #x: Tensor | null = null;

  constructor(gpu: Gpu, rng: Rng, inFeatures: number, outFeatures: number, name = "linear") {
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.params = [
      param(gpu, `${name}.weight`, kaiming(rng, inFeatures, inFeatures * outFeatures), [
        inFeatures,
        outFeatures,
      ], true),
      param(gpu, `${name}.bias`, new Float32Array(outFeatures), [outFeatures], false),
    ];
  }

  outShape(inShape: readonly number[]): number[] {
    const n = inShape.reduce((a, b) => a * b, 1);
    if (n !== this.inFeatures) {
      throw new ShapeError(`linear: expects ${this.inFeatures} inputs, got [${inShape}]`);
    }
    return [this.outFeatures];
  }

  forward(step: Step, x: Tensor, _train: boolean): Tensor {
    const x2 = x.shape.length === 2 ? x : x.reshape([batchOf(x), this.inFeatures]);
    const y = empty(step.gpu, [batchOf(x), this.outFeatures], "f32", "linear.out");
    encodeMatmul(step, x2, this.params[0].value, y);
    encodeBiasAdd(step, y, this.params[1].value);
    this.#x = x2;
    return y;
  }

  backward(step: Step, dy: Tensor, needInput: boolean): Tensor | null {
    const x = this.#x!;
    const [w, b] = this.params;
    encodeMatmul(step, x, dy, w.grad, { transA: true }); // dW = xᵀ·dy
    encodeColSum(step, dy, b.grad); // db = Σ_batch dy
    if (!needInput) return null;
    const dx = empty(step.gpu, x.shape, "f32", "linear.dx");
    encodeMatmul(step, dy, w.value, dx, { transB: true }); // dx = dy·Wᵀ
    return dx;
  }

  forget(): void {
    this.#x = null;
  }
}

/** Elementwise max(x, 0). */
export class ReLU implements Layer {
  readonly kind = "relu";
  readonly params: Param[] = [];
  #x: Tensor | null = null;

  outShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  forward(step: Step, x: Tensor): Tensor {
    const y = empty(step.gpu, x.shape, "f32", "relu.out");
    encodeRelu(step, x, y);
    this.#x = x;
    return y;
  }

  backward(step: Step, dy: Tensor): Tensor {
    const dx = empty(step.gpu, dy.shape, "f32", "relu.dx");
    encodeReluBackward(step, this.#x!, dy, dx);
    return dx;
  }

  forget(): void {
    this.#x = null;
  }
}

/** k×k convolution, stride 1, zero padding `pad`, NHWC; weights (k·k·Cin, Cout) as im2col expects. */
export class Conv2d implements Layer {
  readonly kind = "conv2d";
  readonly params: Param[];
  readonly inChannels: number;
  readonly outChannels: number;
  readonly k: number;
  readonly pad: number;
  #x: Tensor | null = null;
  #cols: Tensor | null = null;

  constructor(
    gpu: Gpu,
    rng: Rng,
    opts: { inChannels: number; outChannels: number; k: number; pad: number },
    name = "conv",
  ) {
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.k = opts.k;
    this.pad = opts.pad;
    const fanIn = opts.k * opts.k * opts.inChannels;
    this.params = [
      param(
        gpu,
        `${name}.weight`,
        kaiming(rng, fanIn, fanIn * opts.outChannels),
        [fanIn, opts.outChannels],
        true,
      ),
      param(gpu, `${name}.bias`, new Float32Array(opts.outChannels), [opts.outChannels], false),
    ];
  }

  outShape(inShape: readonly number[]): number[] {
    const [h, w, c] = inShape;
    if (inShape.length !== 3 || c !== this.inChannels) {
      throw new ShapeError(`conv2d: expects (H, W, ${this.inChannels}) inputs, got [${inShape}]`);
    }
    return [h + 2 * this.pad - this.k + 1, w + 2 * this.pad - this.k + 1, this.outChannels];
  }

  forward(step: Step, x: Tensor): Tensor {
    const opts = { k: this.k, pad: this.pad };
    const g = im2colGeometry("conv2d", x.shape, opts);
    const cols = empty(step.gpu, colsShape(g), "f32", "conv.cols");
    encodeIm2col(step, x, cols, opts);
    const [ho, wo] = this.outShape(x.shape.slice(1));
    const y = empty(step.gpu, [batchOf(x), ho, wo, this.outChannels], "f32", "conv.out");
    const y2 = y.reshape([cols.shape[0], this.outChannels]); // NHWC output seen as (B·Ho·Wo, Cout)
    encodeMatmul(step, cols, this.params[0].value, y2);
    encodeBiasAdd(step, y2, this.params[1].value);
    this.#x = x;
    this.#cols = cols;
    return y;
  }

  backward(step: Step, dy: Tensor, needInput: boolean): Tensor | null {
    const cols = this.#cols!;
    const x = this.#x!;
    const [w, b] = this.params;
    const dy2 = dy.reshape([cols.shape[0], this.outChannels]);
    encodeMatmul(step, cols, dy2, w.grad, { transA: true }); // dW = colsᵀ·dy
    encodeColSum(step, dy2, b.grad);
    if (!needInput) return null;
    const dcols = empty(step.gpu, cols.shape, "f32", "conv.dcols");
    encodeMatmul(step, dy2, w.value, dcols, { transB: true }); // dcols = dy·Wᵀ
    const dx = empty(step.gpu, x.shape, "f32", "conv.dx");
    encodeCol2im(step, dcols, dx, { k: this.k, pad: this.pad });
    step.release(dcols);
    return dx;
  }

  forget(step: Step): void {
    if (this.#cols) step.release(this.#cols);
    this.#cols = null;
    this.#x = null;
  }
}

/** 2×2 max pooling, stride 2, NHWC. */
export class MaxPool2d implements Layer {
  readonly kind = "maxpool2d";
  readonly params: Param[] = [];
  #x: Tensor | null = null;
  #argmax: Tensor<"u32"> | null = null;

  outShape(inShape: readonly number[]): number[] {
    const [h, w, c] = inShape;
    return [Math.floor(h / 2), Math.floor(w / 2), c];
  }

  forward(step: Step, x: Tensor): Tensor {
    const shape = pooledShape(maxpoolGeometry("maxpool2d", x.shape));
    const y = empty(step.gpu, shape, "f32", "pool.out");
    const argmax = empty(step.gpu, shape, "u32", "pool.argmax");
    encodeMaxpool(step, x, y, argmax);
    this.#x = x;
    this.#argmax = argmax;
    return y;
  }

  backward(step: Step, dy: Tensor): Tensor {
    const dx = empty(step.gpu, this.#x!.shape, "f32", "pool.dx");
    encodeMaxpoolBackward(step, dy, this.#argmax!, dx);
    return dx;
  }

  forget(step: Step): void {
    if (this.#argmax) step.release(this.#argmax);
    this.#argmax = null;
    this.#x = null;
  }
}

/** (B, ...) → (B, prod(...)): a view, no data moves. */
export class Flatten implements Layer {
  readonly kind = "flatten";
  readonly params: Param[] = [];
  #inShape: readonly number[] = [];

  outShape(inShape: readonly number[]): number[] {
    return [inShape.reduce((a, b) => a * b, 1)];
  }

  forward(_step: Step, x: Tensor): Tensor {
    this.#inShape = x.shape;
    return x.reshape([batchOf(x), ...this.outShape(x.shape.slice(1))]);
  }

  backward(_step: Step, dy: Tensor): Tensor {
    return dy.reshape(this.#inShape);
  }

  forget(): void {}
}
