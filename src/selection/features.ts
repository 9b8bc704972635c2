/**
 * CPU-side helpers over gradient sources: reading them back once, the target correlations p⁰ of a
 * factored class problem, mini-batch mean gradients, and the matching objective ‖Σ wᵢgᵢ − b‖ / ‖b‖.
 * All in float64; used where a few O(n·C·D) passes on the CPU are cheaper than more GPU round trips.
 */
import { InvalidInputError } from "../errors.ts";
import type { GradientSource } from "./types.ts";

/** A gradient source copied to the CPU. */
export type CpuFeatures =
  | { kind: "factored"; e: Float32Array; h: Float32Array; n: number; c: number; dh: number; bias: boolean }
  | { kind: "dense"; g: Float32Array; n: number; d: number };

/** Reads a source back (one read-back per tensor); NaN or infinite entries are an `InvalidInputError`. */
export async function readFeatures(source: GradientSource): Promise<CpuFeatures> {
  if (source.kind === "dense") {
    const [n, d] = source.g.shape;
    const g = await source.g.read();
    checkFinite(g, d, "gradient");
    return { kind: "dense", g, n, d };
  }
  const [n, c] = source.e.shape;
  const [e, h] = [await source.e.read(), await source.h.read()];
  checkFinite(e, c, "error (e)");
  checkFinite(h, source.h.shape[1], "embedding (h)");
  return { kind: "factored", e, h, n, c, dh: source.h.shape[1], bias: source.bias };
}

/** Throws naming the first row with a NaN or infinite entry. */
export function checkFinite(x: Float32Array, cols: number, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new InvalidInputError(
        `${what} row ${Math.floor(i / Math.max(1, cols))} holds ${x[i]} at column ${i % Math.max(1, cols)}`,
      );
    }
  }
}

/** Width of a row gᵢ. */
export function featureDim(f: CpuFeatures): number {
  return f.kind === "dense" ? f.d : f.c * f.dh + (f.bias ? f.c : 0);
}

/** Adds scale · gᵢ to `acc` (length featureDim). Factored layout: [eᵢ ⊗ hᵢ (C·D), eᵢ (C)]. */
export function addRow(f: CpuFeatures, i: number, scale: number, acc: Float64Array): void {
  if (f.kind === "dense") {
    const [g, d, o] = [f.g, f.d, i * f.d];
    for (let c = 0; c < d; c++) acc[c] += scale * g[o + c];
    return;
  }
  for (let a = 0; a < f.c; a++) {
    const ea = scale * f.e[i * f.c + a];
    if (ea === 0) continue;
    const o = a * f.dh;
    for (let b = 0; b < f.dh; b++) acc[o + b] += ea * f.h[i * f.dh + b];
    if (f.bias) acc[f.c * f.dh + a] += ea;
  }
}

/** ⟨gᵢ, v⟩ for a vector v of length featureDim. */
export function rowDot(f: CpuFeatures, i: number, v: Float64Array): number {
  if (f.kind === "dense") return dotRowVec(f.g, i * f.d, v, 0, f.d);
  let s = 0;
  for (let a = 0; a < f.c; a++) {
    let t = f.bias ? v[f.c * f.dh + a] : 0;
    const o = a * f.dh;
    for (let b = 0; b < f.dh; b++) t += f.h[i * f.dh + b] * v[o + b];
    s += f.e[i * f.c + a] * t;
  }
  return s;
}

/** p⁰ᵢ = ⟨gᵢ, Σ_{j ∈ rows} gⱼ⟩ for i in `rows` (the correlations with a class's target). */
export function targetCorrelations(f: CpuFeatures, rows: ArrayLike<number>): Float32Array {
  const b = new Float64Array(featureDim(f));
  for (let r = 0; r < rows.length; r++) addRow(f, rows[r], 1, b);
  return Float32Array.from({ length: rows.length }, (_, r) => rowDot(f, rows[r], b));
}

/** Mean gradient of each consecutive block of `batch` rows of `rows` (the last block may be short). */
export function batchMeans(
  f: CpuFeatures,
  rows: ArrayLike<number>,
  batch: number,
): { g: Float32Array; d: number; groups: number[][] } {
  const d = featureDim(f);
  const nb = Math.ceil(rows.length / batch);
  const g = new Float32Array(nb * d);
  const groups: number[][] = [];
  for (let bi = 0; bi < nb; bi++) {
    const acc = new Float64Array(d);
    const members: number[] = [];
    for (let r = bi * batch; r < Math.min(rows.length, (bi + 1) * batch); r++) members.push(rows[r]);
    for (const i of members) addRow(f, i, 1 / members.length, acc);
    g.set(acc, bi * d);
    groups.push(members);
  }
  return { g, d, groups };
}

/** ‖Σ wᵢ gᵢ − Σ_all gᵢ‖ / ‖Σ_all gᵢ‖ (the GRAD-MATCH matching error of a subset, whole pool as target). */
export function matchingObjective(
  f: CpuFeatures,
  indices: ArrayLike<number>,
  weights: ArrayLike<number>,
): number {
  const d = featureDim(f);
  const b = new Float64Array(d);
  for (let i = 0; i < f.n; i++) addRow(f, i, 1, b);
  const v = new Float64Array(d);
  for (let s = 0; s < indices.length; s++) addRow(f, indices[s], weights[s], v);
  let num = 0;
  let den = 0;
  for (let c = 0; c < d; c++) {
    num += (v[c] - b[c]) ** 2;
    den += b[c] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** ⟨gₐ, g_b⟩ in float64: (eₐ·e_b)(hₐ·h_b + 1) for factored rows (bias part included when `bias`). */
export function gramEntry(f: CpuFeatures, a: number, b: number): number {
  if (f.kind === "dense") return dotRows(f.g, a * f.d, b * f.d, f.d);
  let de = 0;
  for (let c = 0; c < f.c; c++) de += f.e[a * f.c + c] * f.e[b * f.c + c];
  let dh = f.bias ? 1 : 0;
  for (let c = 0; c < f.dh; c++) dh += f.h[a * f.dh + c] * f.h[b * f.dh + c];
  return de * dh;
}

/**
 * ⟨g[o ..], v[vo ..]⟩ over len entries in float64, four partial sums (the hybrid OMP's hot loop: its
 * float64 work on dense rows is these dots and `addRow`; the factored rows keep their plain loop, which
 * measured ~5 % faster there).
 */
function dotRowVec(g: Float32Array, o: number, v: Float64Array, vo: number, len: number): number {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  let c = 0;
  for (; c + 3 < len; c += 4) {
    s0 += g[o + c] * v[vo + c];
    s1 += g[o + c + 1] * v[vo + c + 1];
    s2 += g[o + c + 2] * v[vo + c + 2];
    s3 += g[o + c + 3] * v[vo + c + 3];
  }
  for (; c < len; c++) s0 += g[o + c] * v[vo + c];
  return (s0 + s1) + (s2 + s3);
}

/**
 * ⟨g[a ..], g[b ..]⟩ over len entries in float64, as `dotRowVec`. Its own function, so that the loads of
 * each see one element type: sharing one (v as Float32Array or Float64Array) made the hybrid OMP's pool
 * scoring ~25 % slower on the n = 10,000, d = 1,024 problem.
 */
function dotRows(g: Float32Array, a: number, b: number, len: number): number {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  let c = 0;
  for (; c + 3 < len; c += 4) {
    s0 += g[a + c] * g[b + c];
    s1 += g[a + c + 1] * g[b + c + 1];
    s2 += g[a + c + 2] * g[b + c + 2];
    s3 += g[a + c + 3] * g[b + c + 3];
  }
  for (; c < len; c++) s0 += g[a + c] * g[b + c];
  return (s0 + s1) + (s2 + s3);
}

/** The rows `rows` of a CPU feature set, copied into a compact one (row r of the result is rows[r]). */
export function selectRows(f: CpuFeatures, rows: ArrayLike<number>): CpuFeatures {
  const n = rows.length;
  const take = (x: Float32Array, w: number) => {
    const out = new Float32Array(n * w);
    for (let r = 0; r < n; r++) out.set(x.subarray(rows[r] * w, (rows[r] + 1) * w), r * w);
    return out;
  };
  return f.kind === "dense"
    ? { ...f, g: take(f.g, f.d), n }
    : { ...f, e: take(f.e, f.c), h: take(f.h, f.dh), n };
}
