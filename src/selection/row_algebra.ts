/**
 * The float64 row algebra of the hybrid OMP's CPU half: Gram entries, scores ⟨gᵢ, r⟩, Gram columns
 * K_{S,j} and residuals b − Σ cₛ gₛ. One interface, three implementations:
 *   - `simdAlgebra` (dense rows): WebAssembly SIMD loops (`simd_kernels.ts`) over a copy of G and of the
 *     picks' rows in the module's memory — 5–6 G multiply-adds/s on the EPYC, ~8× the plain loops' 0.6;
 *   - `simdFactoredAlgebra` (factored rows): the same loops over a copy of h, C dots or axpys of length D
 *     per row;
 *   - `plainAlgebra` (any rows): TypeScript loops over the CPU features, factored rows in place and dense
 *     picks copied by slot into a compact block (the GPU passes evict rows scattered through G from the
 *     caches between picks).
 * `rowAlgebra` takes a SIMD one when the copy fits the module's memory.
 */
import { addRow, type CpuFeatures, featureDim, gramEntry, rowDot } from "./features.ts";
import { arenaWith } from "./simd_kernels.ts";

/** A pick as the algebra sees it: its row of the problem and its slot in the picks' store. */
export interface Pick {
  row: number;
  slot: number;
}

export interface RowAlgebra {
  /** Which implementation (for benchmarks and tests). */
  readonly kind: "simd" | "plain";
  /** b = Σᵢ gᵢ (float64). */
  readonly b: Float64Array;
  /** ⟨gᵢ, gⱼ⟩ */
  gram(i: number, j: number): number;
  /** ⟨gᵢ, b⟩ */
  dotB(i: number): number;
  /** Sets the vector that `score` takes (not to be changed while bound). */
  bind(r: Float64Array): void;
  /** ⟨gᵢ, r⟩ for the bound r. */
  score(i: number): number;
  /** As bind, for `guessScore`. */
  bindGuess(r: Float64Array): void;
  /**
   * ⟨gᵢ, r⟩ for guesses (the pool's scores): may be rounded to f32 (dense SIMD: an f32 dot, twice the
   * rate), since a wrong guess costs a pass and never a different pick.
   */
  guessScore(i: number): number;
  /** Stores row j as the pick in `slot` (before `column` or `residual` name it). */
  keep(slot: number, j: number): void;
  /** K_{S,j}: ⟨g_p, gⱼ⟩ for each pick p. */
  column(picks: readonly Pick[], j: number): Float64Array;
  /** b − Σₘ c[m]·g_{picks[m]} */
  residual(picks: readonly Pick[], c: ArrayLike<number>): Float64Array;
}

/** The SIMD algebra when it can be had (`simd` false: never), else the plain one. */
export function rowAlgebra(cpu: CpuFeatures, cap: number, simd = true): RowAlgebra {
  const fast = !simd ? null : cpu.kind === "dense" ? simdAlgebra(cpu, cap) : simdFactoredAlgebra(cpu);
  return fast ?? plainAlgebra(cpu, cap);
}

/** WebAssembly SIMD over dense rows (G copied into the module's memory once); null where it cannot be had. */
export function simdAlgebra(cpu: CpuFeatures & { kind: "dense" }, cap: number): RowAlgebra | null {
  const { n, d } = cpu;
  const rb = 4 * d;
  const got = arenaWith([n * rb, cap * rb, 8 * d, 8 * d, 8 * d, 4 * d]);
  if (!got) return null;
  const a = got.arena;
  const [gp, sp, bp, rp, yp, r32] = got.at;
  a.f32.set(cpu.g, gp / 4);
  const f = a.fn;
  // b = Σ gᵢ (the memory starts zeroed)
  for (let i = 0; i < n; i++) f.axpyFD(gp + i * rb, 1, bp, d);
  const b = a.f64.slice(bp / 8, bp / 8 + d);
  return {
    kind: "simd",
    b,
    gram: (i, j) => f.dotFF(gp + i * rb, gp + j * rb, d),
    dotB: (i) => f.dotFD(gp + i * rb, bp, d),
    bind: (r) => a.f64.set(r, rp / 8),
    score: (i) => f.dotFD(gp + i * rb, rp, d),
    bindGuess: (r) => a.f32.set(r, r32 / 4),
    guessScore: (i) => f.dotF32(gp + i * rb, r32, d),
    keep: (slot, j) =>
      void a.f32.copyWithin((sp + slot * rb) / 4, (gp + j * rb) / 4, (gp + (j + 1) * rb) / 4),
    column(picks, j) {
      const out = new Float64Array(picks.length);
      for (let m = 0; m < picks.length; m++) out[m] = f.dotFF(sp + picks[m].slot * rb, gp + j * rb, d);
      return out;
    },
    residual(picks, c) {
      const y = a.f64;
      y.copyWithin(yp / 8, bp / 8, bp / 8 + d);
      for (let m = 0; m < picks.length; m++) f.axpyFD(sp + picks[m].slot * rb, -c[m], yp, d);
      return y.slice(yp / 8, yp / 8 + d);
    },
  };
}

/**
 * WebAssembly SIMD over factored rows gᵢ = [eᵢ ⊗ hᵢ, eᵢ (bias)] (e and h copied into the module's memory):
 * ⟨gᵢ, v⟩ = Σₐ eᵢₐ (⟨hᵢ, v_a⟩ + v_bias,a) takes C SIMD dots of length D; the residual C axpys of length D
 * per pick. Gram entries (C + D products) stay plain loops.
 */
export function simdFactoredAlgebra(cpu: CpuFeatures & { kind: "factored" }): RowAlgebra | null {
  const { n, c, dh, bias } = cpu;
  const d = featureDim(cpu);
  const got = arenaWith([4 * n * dh, 8 * d, 8 * d, 8 * d]);
  if (!got) return null;
  const a = got.arena;
  const [hp, bp, rp, yp] = got.at;
  a.f32.set(cpu.h, hp / 4);
  const f = a.fn;
  const e = cpu.e;
  /** y += s·gᵢ (y: a region of d f64). */
  const addRowAt = (i: number, s: number, y: number) => {
    const f64 = a.f64;
    for (let k = 0; k < c; k++) {
      const w = s * e[i * c + k];
      if (w === 0) continue;
      f.axpyFD(hp + 4 * i * dh, w, y + 8 * k * dh, dh);
      if (bias) f64[y / 8 + c * dh + k] += w;
    }
  };
  /** ⟨gᵢ, v⟩ for v at region `v`. */
  const dotAt = (i: number, v: number) => {
    const f64 = a.f64;
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const w = e[i * c + k];
      if (w === 0) continue;
      sum += w * (f.dotFD(hp + 4 * i * dh, v + 8 * k * dh, dh) + (bias ? f64[v / 8 + c * dh + k] : 0));
    }
    return sum;
  };
  for (let i = 0; i < n; i++) addRowAt(i, 1, bp);
  const b = a.f64.slice(bp / 8, bp / 8 + d);
  return {
    kind: "simd",
    b,
    gram: (i, j) => gramEntry(cpu, i, j),
    dotB: (i) => dotAt(i, bp),
    bind: (r) => a.f64.set(r, rp / 8),
    score: (i) => dotAt(i, rp),
    bindGuess: (r) => a.f64.set(r, rp / 8),
    guessScore: (i) => dotAt(i, rp),
    keep: () => {},
    column: (picks, j) => Float64Array.from(picks, (p) => gramEntry(cpu, p.row, j)),
    residual(picks, coeffs) {
      const y = a.f64;
      y.copyWithin(yp / 8, bp / 8, bp / 8 + d);
      for (let m = 0; m < picks.length; m++) addRowAt(picks[m].row, -coeffs[m], yp);
      return a.f64.slice(yp / 8, yp / 8 + d);
    },
  };
}

/** TypeScript loops over any rows (the dense picks' rows copied by slot into a compact store). */
export function plainAlgebra(cpu: CpuFeatures, cap: number): RowAlgebra {
  const b = new Float64Array(featureDim(cpu));
  for (let i = 0; i < cpu.n; i++) addRow(cpu, i, 1, b);
  const store = cpu.kind === "dense"
    ? { kind: "dense" as const, g: new Float32Array(cap * cpu.d), n: cap, d: cpu.d }
    : null;
  let bound: Float64Array = b;
  return {
    kind: "plain",
    b,
    gram: (i, j) => gramEntry(cpu, i, j),
    dotB: (i) => rowDot(cpu, i, b),
    bind: (r) => void (bound = r),
    score: (i) => rowDot(cpu, i, bound),
    bindGuess: (r) => void (bound = r),
    guessScore: (i) => rowDot(cpu, i, bound),
    keep(slot, j) {
      if (store && cpu.kind === "dense") {
        store.g.set(cpu.g.subarray(j * cpu.d, (j + 1) * cpu.d), slot * cpu.d);
      }
    },
    column(picks, j) {
      if (!store || cpu.kind !== "dense") return Float64Array.from(picks, (p) => gramEntry(cpu, p.row, j));
      return denseColumn(store, picks, Float64Array.from(cpu.g.subarray(j * cpu.d, (j + 1) * cpu.d)));
    },
    residual(picks, c) {
      const r = Float64Array.from(b);
      if (store) picks.forEach((p, m) => addRow(store, p.slot, -c[m], r));
      else picks.forEach((p, m) => addRow(cpu, p.row, -c[m], r));
      return r;
    },
  };
}

/**
 * ⟨store row of each pick, v⟩. The row dot is written out here: calling features.ts's dot per row measured
 * ~20 % slower in this loop.
 */
function denseColumn(
  store: { g: Float32Array; d: number },
  picks: readonly Pick[],
  v: Float64Array,
): Float64Array {
  const { g, d } = store;
  const out = new Float64Array(picks.length);
  for (let i = 0; i < picks.length; i++) {
    const o = picks[i].slot * d;
    let [s0, s1, s2, s3] = [0, 0, 0, 0];
    let c = 0;
    for (; c + 3 < d; c += 4) {
      s0 += g[o + c] * v[c];
      s1 += g[o + c + 1] * v[c + 1];
      s2 += g[o + c + 2] * v[c + 2];
      s3 += g[o + c + 3] * v[c + 3];
    }
    for (; c < d; c++) s0 += g[o + c] * v[c];
    out[i] = (s0 + s1) + (s2 + s3);
  }
  return out;
}
