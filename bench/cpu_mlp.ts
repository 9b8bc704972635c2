/**
 * The benchmark baseline: the same MLP (Linear–ReLU–…–Linear, weighted softmax cross-entropy, SGD with
 * Nesterov momentum and weight decay) written as plain TypeScript loops over Float32Array, the way one
 * would without a GPU. Used only to compare samples per second in the same run as the GPU trainer.
 */
import { Rng } from "../src/util/rng.ts";

export class CpuMlp {
  readonly sizes: number[];
  readonly w: Float32Array[];
  readonly b: Float32Array[];
  readonly vw: Float32Array[];
  readonly vb: Float32Array[];

  readonly skipZeros: boolean;

  constructor(sizes: number[], seed: number, skipZeros = false) {
    this.sizes = sizes;
    this.skipZeros = skipZeros;
    const rng = new Rng(seed);
    this.w = sizes.slice(1).map((out, i) => rng.normals(sizes[i] * out, Math.sqrt(2 / sizes[i])));
    this.b = sizes.slice(1).map((out) => new Float32Array(out));
    this.vw = this.w.map((w) => new Float32Array(w.length));
    this.vb = this.b.map((b) => new Float32Array(b.length));
  }

  /** One SGD step on a batch (x: B × sizes[0], y: B); returns the batch's mean loss. */
  step(x: Float32Array, y: Uint32Array, lr: number, momentum = 0.9, wd = 5e-4): number {
    const bsz = y.length;
    const L = this.w.length;
    const acts: Float32Array[] = [x];
    for (let l = 0; l < L; l++) {
      const [nin, nout] = [this.sizes[l], this.sizes[l + 1]];
      const out = new Float32Array(bsz * nout);
      const a = acts[l];
      const w = this.w[l];
      for (let i = 0; i < bsz; i++) {
        const oi = i * nout;
        out.set(this.b[l], oi);
        for (let k = 0; k < nin; k++) {
          const av = a[i * nin + k];
          if (av === 0 && this.skipZeros) continue;
          const wk = k * nout;
          for (let j = 0; j < nout; j++) out[oi + j] += av * w[wk + j];
        }
        if (l < L - 1) { for (let j = 0; j < nout; j++) if (out[oi + j] < 0) out[oi + j] = 0; }
      }
      acts.push(out);
    }
    // Softmax cross-entropy gradient, mean over the batch.
    const c = this.sizes[L];
    let d = new Float32Array(bsz * c);
    let loss = 0;
    const z = acts[L];
    for (let i = 0; i < bsz; i++) {
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, z[i * c + j]);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(z[i * c + j] - m);
      loss += Math.log(s) + m - z[i * c + y[i]];
      for (let j = 0; j < c; j++) {
        d[i * c + j] = (Math.exp(z[i * c + j] - m) / s - (j === y[i] ? 1 : 0)) / bsz;
      }
    }
    for (let l = L - 1; l >= 0; l--) {
      const [nin, nout] = [this.sizes[l], this.sizes[l + 1]];
      const a = acts[l];
      const gw = new Float32Array(nin * nout);
      const gb = new Float32Array(nout);
      for (let i = 0; i < bsz; i++) {
        for (let k = 0; k < nin; k++) {
          const av = a[i * nin + k];
          if (av === 0 && this.skipZeros) continue;
          for (let j = 0; j < nout; j++) gw[k * nout + j] += av * d[i * nout + j];
        }
        for (let j = 0; j < nout; j++) gb[j] += d[i * nout + j];
      }
      if (l > 0) {
        const dx = new Float32Array(bsz * nin);
        const w = this.w[l];
        for (let i = 0; i < bsz; i++) {
          for (let k = 0; k < nin; k++) {
            if (a[i * nin + k] <= 0) continue; // ReLU backward
            let s = 0;
            for (let j = 0; j < nout; j++) s += d[i * nout + j] * w[k * nout + j];
            dx[i * nin + k] = s;
          }
        }
        d = dx;
      }
      sgd(this.w[l], gw, this.vw[l], lr, momentum, wd);
      sgd(this.b[l], gb, this.vb[l], lr, momentum, 0);
    }
    return loss / bsz;
  }
}

function sgd(w: Float32Array, g: Float32Array, v: Float32Array, lr: number, mu: number, wd: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + wd * w[i];
    v[i] = mu * v[i] + gi;
    w[i] -= lr * (gi + mu * v[i]);
  }
}
