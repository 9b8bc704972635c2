/**
 * Plain-TypeScript twins of the GPU kernels, for the kernel benchmark (bench/kernels.ts): each computes
 * what its kernel computes, as the straightforward loop one would write without a GPU — Float32Array
 * in and out, row-major, sums in a JS number (double) stored as f32, loop orders that walk memory
 * contiguously where that is the obvious choice (i-k-j for matmul). They are baselines to time, not
 * references: the float64 references that check the kernels live in test/.
 *
 * Each twin takes its arrays and its sizes as two objects and writes its outputs in place.
 */

/*
 * The quadratic twins (matmul, pairwise, factor_gram) put each output row in its own small function and
 * the innermost loop in another (dot, sqDist, axpy). That keeps V8's timing honest: a function called
 * thousands of times is compiled whole by the optimising tier (TurboFan) early on, whereas one call
 * running a deep loop nest for seconds depends on on-stack replacement, which in Deno 2.9 was seen to
 * settle on Maglev code mid-run and make the same loop 4× slower from one call to the next.
 */

/** Σ_t a[ai + t] · b[bi + t] over t < len. */
function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, len: number): number {
  let s = 0;
  for (let t = 0; t < len; t++) s += a[ai + t] * b[bi + t];
  return s;
}

/** Σ_t (a[ai + t] − b[bi + t])² over t < len. */
function sqDist(a: Float32Array, ai: number, b: Float32Array, bi: number, len: number): number {
  let s = 0;
  for (let t = 0; t < len; t++) {
    const diff = a[ai + t] - b[bi + t];
    s += diff * diff;
  }
  return s;
}

/** y[yi + t] += alpha · x[xi + t] over t < len. */
function axpy(alpha: number, x: Float32Array, xi: number, y: Float32Array, yi: number, len: number): void {
  for (let t = 0; t < len; t++) y[yi + t] += alpha * x[xi + t];
}

/** Sizes of C = op(A)·op(B): op(A) is (m, k), op(B) is (k, n); A is stored (k, m) when transA. */
export interface MatmulDims {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
}

/**
 * C (m, n) = op(A)·op(B): A·B in i-k-j order (row i of C += A[i, t] · row t of B), Aᵀ·B in k-i-j order,
 * A·Bᵀ as dot products of rows.
 */
export function tsMatmul(io: { a: Float32Array; b: Float32Array; c: Float32Array }, dims: MatmulDims): void {
  if (!dims.transB) io.c.fill(0);
  for (let r = 0; r < (dims.transA ? dims.k : dims.m); r++) matmulRow(io, dims, r);
}

/** One pass of tsMatmul's outer loop: row r of C, or (Aᵀ·B) the products of row r of A and of B. */
function matmulRow(
  io: { a: Float32Array; b: Float32Array; c: Float32Array },
  dims: MatmulDims,
  r: number,
): void {
  const { a, b, c } = io;
  const { m, k, n } = dims;
  if (dims.transB) {
    for (let j = 0; j < n; j++) c[r * n + j] = dot(a, r * k, b, j * k, k);
  } else if (dims.transA) {
    for (let i = 0; i < m; i++) axpy(a[r * m + i], b, r * n, c, i * n, n);
  } else {
    for (let t = 0; t < k; t++) axpy(a[r * k + t], b, t * n, c, r * n, n);
  }
}

/** out (n, c) = x (n, c) + bias (c) broadcast over rows. */
export function tsBiasAdd(io: { x: Float32Array; bias: Float32Array; out: Float32Array }, c: number): void {
  const { x, bias, out } = io;
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) out[i + j] = x[i + j] + bias[j];
  }
}

/** y = max(x, 0). */
export function tsRelu(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/** dx = dy · [x > 0]. */
export function tsReluBackward(io: { x: Float32Array; dy: Float32Array; dx: Float32Array }): void {
  const { x, dy, dx } = io;
  for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

/** y (n, c) = softmax of each row of x (n, c), stabilised by the row max. */
export function tsSoftmax(io: { x: Float32Array; y: Float32Array }, c: number): void {
  const { x, y } = io;
  for (let r = 0; r < x.length; r += c) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, x[r + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[r + j] - m);
    for (let j = 0; j < c; j++) y[r + j] = Math.exp(x[r + j] - m) / s;
  }
}

/** Arrays of the cross-entropy twin: logits (n, c), labels (n), weights (n) → loss (n), dlogits (n, c). */
export interface CrossEntropyArrays {
  logits: Float32Array;
  labels: Uint32Array;
  weights: Float32Array;
  loss: Float32Array;
  dlogits: Float32Array;
}

/** loss[i] = wᵢ (logsumexp(zᵢ) − zᵢ[yᵢ]); dlogits = scale · wᵢ (softmax(zᵢ) − onehot(yᵢ)). */
export function tsCrossEntropy(io: CrossEntropyArrays, dims: { c: number; scale: number }): void {
  const { logits: z, labels, weights, loss, dlogits } = io;
  const { c, scale } = dims;
  for (let i = 0; i < labels.length; i++) {
    const r = i * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, z[r + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[r + j] - m);
    const w = weights[i];
    loss[i] = w * (Math.log(s) + m - z[r + labels[i]]);
    for (let j = 0; j < c; j++) {
      dlogits[r + j] = scale * w * (Math.exp(z[r + j] - m) / s - (j === labels[i] ? 1 : 0));
    }
  }
}

/** out[i] = Σ_j x[i, j] over x (n, c). */
export function tsRowSum(io: { x: Float32Array; out: Float32Array }, c: number): void {
  const { x, out } = io;
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += x[i * c + j];
    out[i] = s;
  }
}

/** out[i] = ‖x_i‖² over x (n, c). */
export function tsSqNorms(io: { x: Float32Array; out: Float32Array }, c: number): void {
  const { x, out } = io;
  for (let i = 0; i < out.length; i++) out[i] = dot(x, i * c, x, i * c, c);
}

/** max[i] = max_j x[i, j] and argmax[i] = the first j attaining it, over x (n, c). */
export function tsRowMaxArgmax(
  io: { x: Float32Array; max: Float32Array; argmax: Uint32Array },
  c: number,
): void {
  const { x, max, argmax } = io;
  for (let i = 0; i < max.length; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (x[i * c + j] > x[i * c + best]) best = j;
    max[i] = x[i * c + best];
    argmax[i] = best;
  }
}

/** out[j] = Σ_i x[i, j] over x (n, c), in row order. */
export function tsColSum(io: { x: Float32Array; out: Float32Array }, c: number): void {
  const { x, out } = io;
  out.fill(0);
  for (let r = 0; r < x.length; r += c) {
    for (let j = 0; j < c; j++) out[j] += x[r + j];
  }
}

/** out = (index, f32 bits of v[index]) of the lowest index maximising v over mask = 0; (2³² − 1, 0) if none. */
export function tsMaskedArgmax(io: { v: Float32Array; mask: Uint32Array; out: Uint32Array }): void {
  const { v, mask, out } = io;
  let best = -1;
  for (let i = 0; i < v.length; i++) {
    if (mask[i] === 0 && (best < 0 || v[i] > v[best])) best = i;
  }
  out[0] = best < 0 ? 0xffffffff : best;
  out[1] = best < 0 ? 0 : new Uint32Array(Float32Array.of(v[best]).buffer)[0];
}

/** g (n, C·(D+1)) = [eᵢ ⊗ hᵢ, eᵢ] per row, from e (n, C) and h (n, D). */
export function tsPerSampleGrad(
  io: { e: Float32Array; h: Float32Array; g: Float32Array },
  dims: { c: number; d: number },
): void {
  const { e, h, g } = io;
  const { c, d } = dims;
  const width = c * (d + 1);
  for (let i = 0; i < e.length / c; i++) {
    for (let k = 0; k < c; k++) {
      const ek = e[i * c + k];
      for (let t = 0; t < d; t++) g[i * width + k * d + t] = ek * h[i * d + t];
      g[i * width + c * d + k] = ek;
    }
  }
}

/** G (n, n) = ⟨gᵢ, gⱼ⟩ = ⟨eᵢ, eⱼ⟩ (⟨hᵢ, hⱼ⟩ + 1) over one row set, e (n, C) and h (n, D). */
export function tsFactorGram(
  io: { e: Float32Array; h: Float32Array; out: Float32Array },
  dims: { c: number; d: number },
): void {
  for (let i = 0; i < io.e.length / dims.c; i++) factorGramRow(io, dims, i);
}

/** Row i of tsFactorGram. */
function factorGramRow(
  io: { e: Float32Array; h: Float32Array; out: Float32Array },
  dims: { c: number; d: number },
  i: number,
): void {
  const { e, h, out } = io;
  const { c, d } = dims;
  const n = e.length / c;
  for (let j = 0; j < n; j++) out[i * n + j] = dot(e, i * c, e, j * c, c) * (dot(h, i * d, h, j * d, d) + 1);
}

/** The pairwise metrics the benchmark times (pairwise.wgsl's dot, sqeuclid and exp). */
export type TsMetric = "dot" | "sqeuclid" | "exp";

/** out (n1, n2): ⟨x1ᵢ, x2ⱼ⟩, ‖x1ᵢ − x2ⱼ‖² or exp(−‖x1ᵢ − x2ⱼ‖ / scale), rows of d features. */
export function tsPairwise(
  io: { x1: Float32Array; x2: Float32Array; out: Float32Array },
  dims: { d: number; metric: TsMetric; scale?: number },
): void {
  for (let i = 0; i < io.x1.length / dims.d; i++) pairwiseRow(io, dims, i);
}

/** Row i of tsPairwise. */
function pairwiseRow(
  io: { x1: Float32Array; x2: Float32Array; out: Float32Array },
  dims: { d: number; metric: TsMetric; scale?: number },
  i: number,
): void {
  const { x1, x2, out } = io;
  const { d, metric, scale = 1 } = dims;
  const n2 = x2.length / d;
  for (let j = 0; j < n2; j++) {
    if (metric === "dot") {
      out[i * n2 + j] = dot(x1, i * d, x2, j * d, d);
    } else {
      const s = sqDist(x1, i * d, x2, j * d, d);
      out[i * n2 + j] = metric === "exp" ? Math.exp(-Math.sqrt(s) / scale) : s;
    }
  }
}

/** counts[i] = #{ j : a[i, j] < threshold, skipping i = j when excludeDiagonal } over a (n, m). */
export function tsCountBelow(
  io: { a: Float32Array; counts: Uint32Array },
  dims: { m: number; threshold: number; excludeDiagonal: boolean },
): void {
  const { a, counts } = io;
  const { m, threshold, excludeDiagonal } = dims;
  for (let i = 0; i < counts.length; i++) {
    let k = 0;
    for (let j = 0; j < m; j++) if (a[i * m + j] < threshold && !(excludeDiagonal && i === j)) k++;
    counts[i] = k;
  }
}

/** out[i, :] = x[index[i], :] over rows of `cols` floats. */
export function tsGatherRows(
  io: { x: Float32Array; index: Uint32Array; out: Float32Array },
  cols: number,
): void {
  const { x, index, out } = io;
  for (let i = 0; i < index.length; i++) {
    out.set(x.subarray(index[i] * cols, (index[i] + 1) * cols), i * cols);
  }
}

/** Stride-1 convolution geometry over an NHWC image (b, h, w, cin): kernel k, padding pad. */
export interface ConvDims {
  b: number;
  h: number;
  w: number;
  cin: number;
  k: number;
  pad: number;
}

/** Patch grid (Ho, Wo) of a stride-1 convolution. */
function patchGrid(g: ConvDims): [number, number] {
  return [g.h + 2 * g.pad - g.k + 1, g.w + 2 * g.pad - g.k + 1];
}

/** cols (b·Ho·Wo, k·k·cin): row (b, ho, wo) holds x[b, ho + ky − pad, wo + kx − pad, ci], 0 outside. */
export function tsIm2col(io: { x: Float32Array; cols: Float32Array }, g: ConvDims): void {
  const { x, cols } = io;
  const [ho, wo] = patchGrid(g);
  let o = 0;
  for (let b = 0; b < g.b; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let ky = 0; ky < g.k; ky++) {
          const iy = oy + ky - g.pad;
          for (let kx = 0; kx < g.k; kx++) {
            const ix = ox + kx - g.pad;
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            const src = ((b * g.h + iy) * g.w + ix) * g.cin;
            for (let ci = 0; ci < g.cin; ci++) cols[o++] = inside ? x[src + ci] : 0;
          }
        }
      }
    }
  }
}

/** dx (b, h, w, cin) = col2im(dcols): each patch entry added back onto the pixel it was read from. */
export function tsCol2im(io: { dcols: Float32Array; dx: Float32Array }, g: ConvDims): void {
  const { dcols, dx } = io;
  const [ho, wo] = patchGrid(g);
  dx.fill(0);
  let o = 0;
  for (let b = 0; b < g.b; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let ky = 0; ky < g.k; ky++) {
          const iy = oy + ky - g.pad;
          for (let kx = 0; kx < g.k; kx++) {
            const ix = ox + kx - g.pad;
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            const dst = ((b * g.h + iy) * g.w + ix) * g.cin;
            for (let ci = 0; ci < g.cin; ci++, o++) if (inside) dx[dst + ci] += dcols[o];
          }
        }
      }
    }
  }
}

/** NHWC batch shape (b, h, w, c) of 2×2 stride-2 max pooling. */
export interface PoolDims {
  b: number;
  h: number;
  w: number;
  c: number;
}

/** y, argmax (b, ⌊h/2⌋, ⌊w/2⌋, c): window max and its position 2·dy + dx, the first on ties. */
export function tsMaxpool(io: { x: Float32Array; y: Float32Array; argmax: Uint32Array }, g: PoolDims): void {
  const { x, y, argmax } = io;
  const [ho, wo] = [Math.floor(g.h / 2), Math.floor(g.w / 2)];
  let o = 0;
  for (let b = 0; b < g.b; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let c = 0; c < g.c; c++, o++) {
          let best = -Infinity;
          let arg = 0;
          for (let q = 0; q < 4; q++) {
            const v = x[((b * g.h + 2 * oy + (q >> 1)) * g.w + 2 * ox + (q & 1)) * g.c + c];
            if (v > best) [best, arg] = [v, q];
          }
          y[o] = best;
          argmax[o] = arg;
        }
      }
    }
  }
}

/** dx (b, h, w, c): dy routed to the window position its argmax names, 0 elsewhere. */
export function tsMaxpoolBackward(
  io: { dy: Float32Array; argmax: Uint32Array; dx: Float32Array },
  g: PoolDims,
): void {
  const { dy, argmax, dx } = io;
  const [ho, wo] = [Math.floor(g.h / 2), Math.floor(g.w / 2)];
  dx.fill(0);
  let o = 0;
  for (let b = 0; b < g.b; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let c = 0; c < g.c; c++, o++) {
          const q = argmax[o];
          dx[((b * g.h + 2 * oy + (q >> 1)) * g.w + 2 * ox + (q & 1)) * g.c + c] = dy[o];
        }
      }
    }
  }
}

/** Hyper-parameters of one SGD step (torch.optim.SGD's). */
export interface TsSgdStep {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/** In place: g ← ∇ + wd·w; v ← μ·v + g; w ← w − lr·(Nesterov ? g + μ·v : v). */
export function tsSgd(
  io: { w: Float32Array; grad: Float32Array; velocity: Float32Array },
  h: TsSgdStep,
): void {
  const { w, grad, velocity } = io;
  for (let i = 0; i < w.length; i++) {
    const g = grad[i] + h.weightDecay * w[i];
    const v = h.momentum * velocity[i] + g;
    velocity[i] = v;
    w[i] -= h.lr * (h.nesterov ? g + h.momentum * v : v);
  }
}
