/**
 * Reference OMP in float64 TypeScript, the straightforward way (as CORDS runs it): every iteration
 * correlates every row with the residual, re-forms the regularised normal equations of the chosen rows
 * from scratch, solves them by Cholesky, and repairs negative weights by dropping the most negative atom
 * and re-solving. Same semantics as the GPU Batch-OMP (`omp_gpu.ts`): chosen, dropped and numerically
 * dependent atoms stay masked; an atom is skipped when its Schur complement s ≤ 1e-10·(κ + λ).
 * For tests and as the benchmark baseline; O(n·d + t²·d + t³) per iteration.
 */

/** Options of `ompReference`. */
export interface ReferenceOmpOptions {
  k: number;
  lambda?: number;
  /** Most iterations (picks, including dropped and skipped ones) [k + max(32, k/4)]. */
  maxIterations?: number;
}

/** Picks in order and their weights (> 0). */
export interface ReferenceOmpResult {
  indices: Uint32Array;
  weights: Float64Array;
  iterations: number;
}

/** OMP on the rows of `g` (n × d, row-major) with target b = Σᵢ gᵢ. */
export function ompReference(
  g: ArrayLike<number>,
  n: number,
  d: number,
  opts: ReferenceOmpOptions,
): ReferenceOmpResult {
  const k = Math.min(opts.k, n);
  const lambda = opts.lambda ?? 0;
  const maxIter = Math.min(n, opts.maxIterations ?? k + Math.max(32, Math.ceil(k / 4)));
  const b = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) b[c] += g[i * d + c];
  const masked = new Uint8Array(n);
  let S: number[] = [];
  let coef: Float64Array = new Float64Array(0);
  const r = Float64Array.from(b);
  let it = 0;
  for (; it < maxIter && S.length < k; it++) {
    const j = bestCandidate(g, n, d, r, masked);
    if (j < 0) break;
    masked[j] = 1;
    if (!independent(g, d, S, j, lambda)) continue;
    S.push(j);
    for (;;) {
      coef = ridge(g, d, S, b, lambda);
      let worst = -1;
      for (let s = 0; s < S.length; s++) if (coef[s] < 0 && (worst < 0 || coef[s] < coef[worst])) worst = s;
      if (worst < 0) break;
      S = S.filter((_, s) => s !== worst);
    }
    r.set(b);
    S.forEach((row, s) => {
      for (let c = 0; c < d; c++) r[c] -= coef[s] * g[row * d + c];
    });
  }
  const keep = S.map((row, s) => [row, coef[s]]).filter(([, w]) => w > 0);
  return {
    indices: Uint32Array.from(keep, (x) => x[0]),
    weights: Float64Array.from(keep, (x) => x[1]),
    iterations: it,
  };
}

/** argmax_{unmasked i, pᵢ > 0} ⟨gᵢ, r⟩, lowest index on ties; −1 if none. */
function bestCandidate(
  g: ArrayLike<number>,
  n: number,
  d: number,
  r: Float64Array,
  masked: Uint8Array,
): number {
  let best = -1;
  let bestVal = 0;
  for (let i = 0; i < n; i++) {
    if (masked[i]) continue;
    let p = 0;
    for (let c = 0; c < d; c++) p += g[i * d + c] * r[c];
    if (p > bestVal) {
      bestVal = p;
      best = i;
    }
  }
  return best;
}

function dot(g: ArrayLike<number>, d: number, a: number, b: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += g[a * d + c] * g[b * d + c];
  return s;
}

/** Whether row j adds a direction: Schur complement of K_SS + λI extended by j is > 1e-10·(κ + λ). */
function independent(g: ArrayLike<number>, d: number, S: number[], j: number, lambda: number): boolean {
  const kappa = dot(g, d, j, j) + lambda;
  if (S.length === 0) return kappa > 0;
  const A = normalMatrix(g, d, S, lambda);
  const kv = Float64Array.from(S, (s) => dot(g, d, s, j));
  const w = choleskySolve(A, S.length, kv);
  let s = kappa;
  for (let i = 0; i < S.length; i++) s -= kv[i] * w[i];
  return s > 1e-10 * kappa;
}

function normalMatrix(g: ArrayLike<number>, d: number, S: number[], lambda: number): Float64Array {
  const t = S.length;
  const A = new Float64Array(t * t);
  for (let a = 0; a < t; a++) {
    for (let c = 0; c <= a; c++) {
      const v = dot(g, d, S[a], S[c]) + (a === c ? lambda : 0);
      A[a * t + c] = v;
      A[c * t + a] = v;
    }
  }
  return A;
}

/** c = (G_S G_Sᵀ + λI)⁻¹ G_S b, formed and solved from scratch. */
function ridge(g: ArrayLike<number>, d: number, S: number[], b: Float64Array, lambda: number): Float64Array {
  const rhs = Float64Array.from(S, (row) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += g[row * d + c] * b[c];
    return s;
  });
  return choleskySolve(normalMatrix(g, d, S, lambda), S.length, rhs);
}

/** Solves A x = y for symmetric positive definite A (t × t) by Cholesky. */
export function choleskySolve(A: Float64Array, t: number, y: Float64Array): Float64Array {
  const L = new Float64Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * t + j];
      for (let q = 0; q < j; q++) s -= L[i * t + q] * L[j * t + q];
      L[i * t + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j * t + j];
    }
  }
  const z = new Float64Array(t);
  for (let i = 0; i < t; i++) {
    let s = y[i];
    for (let q = 0; q < i; q++) s -= L[i * t + q] * z[q];
    z[i] = s / L[i * t + i];
  }
  const x = new Float64Array(t);
  for (let i = t - 1; i >= 0; i--) {
    let s = z[i];
    for (let q = i + 1; q < t; q++) s -= L[q * t + i] * x[q];
    x[i] = s / L[i * t + i];
  }
  return x;
}

/** ‖Σ wᵢ gᵢ − b‖ / ‖b‖ with b = Σ all rows (float64). */
export function ompObjective(
  g: ArrayLike<number>,
  n: number,
  d: number,
  indices: ArrayLike<number>,
  weights: ArrayLike<number>,
): number {
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) v[c] -= g[i * d + c];
  let bn = 0;
  for (let c = 0; c < d; c++) bn += v[c] * v[c];
  for (let s = 0; s < indices.length; s++) {
    for (let c = 0; c < d; c++) v[c] += weights[s] * g[indices[s] * d + c];
  }
  let rn = 0;
  for (let c = 0; c < d; c++) rn += v[c] * v[c];
  return Math.sqrt(rn / bn);
}
