/**
 * Float64 references and comparison helpers for kernel tests. References are plain loops, written to be
 * obviously right rather than fast.
 */
import { Rng } from "../src/util/rng.ts";
import { acquireGpu, type Gpu } from "../src/gpu/device.ts";

/** One shared Gpu per test module. */
let gpuPromise: Promise<Gpu> | null = null;
export function testGpu(): Promise<Gpu> {
  return gpuPromise ??= acquireGpu();
}

/** Sizes every kernel is tried at: 1, primes, around the workgroup (64/256) and tile sizes. */
export const AWKWARD = [1, 2, 3, 7, 13, 31, 63, 64, 65, 97, 127, 128, 129, 255, 256, 257];

/** `count` values drawn from `AWKWARD` plus `extra`, deterministic per seed. */
export function pickSizes(rng: Rng, count: number, extra: number[] = []): number[] {
  const out = [...extra];
  while (out.length < count) out.push(AWKWARD[rng.int(AWKWARD.length)]);
  return out;
}

/** Random matrix (rows, cols) as Float32Array, entries N(0, std²). */
export function randn(rng: Rng, rows: number, cols = 1, std = 1): Float32Array {
  return rng.normals(rows * cols, std);
}

/** Float64 C = op(A) op(B) with explicit transposes. */
export function refMatmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) {
        const av = transA ? a[t * m + i] : a[i * k + t];
        const bv = transB ? b[j * k + t] : b[t * n + j];
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Tolerance: |actual − expected| ≤ atol + rtol·|expected| per element. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Asserts elementwise closeness. A failure names kernel, case, index, actual, expected and the bound.
 * `scale` multiplies atol (pass the data's magnitude, e.g. max |expected|).
 */
export function assertClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  scale = 1,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    const bound = tol.atol * scale + tol.rtol * Math.abs(e);
    if (!(Math.abs(a - e) <= bound) && !(Number.isNaN(e) && Number.isNaN(a))) {
      throw new Error(
        `${what}: element ${i}: actual ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > bound ${bound})`,
      );
    }
  }
}

/** max |x| (1 for empty or all-zero input, so it can serve as a scale). */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m || 1;
}

export { Rng };
