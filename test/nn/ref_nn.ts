/** Float64 reference forward passes (plain loops) for the layer and model tests. NHWC layouts. */

/** y (b, out) = x (b, in) · W (in, out) + bias. */
export function refLinear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number>,
  b: number,
  nin: number,
  nout: number,
) {
  const y = new Float64Array(b * nout);
  for (let i = 0; i < b; i++) {
    for (let o = 0; o < nout; o++) {
      let s = bias[o];
      for (let k = 0; k < nin; k++) s += x[i * nin + k] * w[k * nout + o];
      y[i * nout + o] = s;
    }
  }
  return y;
}

export function refRelu(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/** Direct NHWC convolution, stride 1, zero padding; W is ((ky·k + kx)·cin + ci, cout). */
export function refConv(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number>,
  s: { b: number; h: number; w: number; cin: number; cout: number; k: number; pad: number },
): Float64Array {
  const ho = s.h + 2 * s.pad - s.k + 1;
  const wo = s.w + 2 * s.pad - s.k + 1;
  const y = new Float64Array(s.b * ho * wo * s.cout);
  for (let n = 0; n < s.b; n++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let o = 0; o < s.cout; o++) {
          let acc = bias[o];
          for (let ky = 0; ky < s.k; ky++) {
            for (let kx = 0; kx < s.k; kx++) {
              const yy = i + ky - s.pad;
              const xx = j + kx - s.pad;
              if (yy < 0 || xx < 0 || yy >= s.h || xx >= s.w) continue;
              for (let c = 0; c < s.cin; c++) {
                acc += x[((n * s.h + yy) * s.w + xx) * s.cin + c] *
                  w[((ky * s.k + kx) * s.cin + c) * s.cout + o];
              }
            }
          }
          y[((n * ho + i) * wo + j) * s.cout + o] = acc;
        }
      }
    }
  }
  return y;
}

/** 2×2 max pooling, stride 2, NHWC, floor on odd sizes. */
export function refMaxPool(x: ArrayLike<number>, b: number, h: number, w: number, c: number): Float64Array {
  const ho = Math.floor(h / 2);
  const wo = Math.floor(w / 2);
  const y = new Float64Array(b * ho * wo * c);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let ch = 0; ch < c; ch++) {
          let m = -Infinity;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            m = Math.max(m, x[((n * h + 2 * i + dy) * w + 2 * j + dx) * c + ch]);
          }
          y[((n * ho + i) * wo + j) * c + ch] = m;
        }
      }
    }
  }
  return y;
}

/** Σ wᵢℓᵢ / Σ wᵢ with ℓᵢ the softmax cross-entropy of row i. */
export function refWeightedCE(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
  c: number,
): number {
  let total = 0;
  let wsum = 0;
  for (let i = 0; i < labels.length; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits[i * c + j] - m);
    total += weights[i] * (Math.log(s) + m - logits[i * c + labels[i]]);
    wsum += weights[i];
  }
  return total / wsum;
}

/** Central finite-difference gradient of f at x (x is modified and restored). */
export function fdGrad(f: () => number, x: Float64Array, eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + eps;
    const fp = f();
    x[i] = v - eps;
    const fm = f();
    x[i] = v;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/** Σ a ⊙ b in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
