/**
 * factor_gram: a block of the Gram matrix of per-sample last-layer gradients, G[i, j] = ⟨g1ᵢ, g2ⱼ⟩ =
 * ⟨e1ᵢ, e2ⱼ⟩ (⟨h1ᵢ, h2ⱼ⟩ + β), computed from the factors e (n, C) and h (n, D) without forming gᵢ
 * (shaders/factor_gram.wgsl on CPU adapters, shaders/factor_gram_fused.wgsl on GPUs: `FactorGramVariant`);
 * optionally the cosine G[i, j] / (‖g1ᵢ‖ ‖g2ⱼ‖). Rows of set 1 and of the output are split into chunks when
 * they exceed the storage binding limit.
 */
import gramCode from "../../../shaders/factor_gram.wgsl" with { type: "text" };
import fusedCode from "../../../shaders/factor_gram_fused.wgsl" with { type: "text" };
import registerTiles from "../../../shaders/register_tiles.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, rowChunks, rowSlice } from "./common.ts";
import { sqNorms } from "./reduce_rows.ts";

export const FACTOR_GRAM: KernelSpec = {
  name: "factor_gram",
  code: registerTiles + gramCode,
  bindings: ["uniform", "read", "read", "read", "read", "write"],
};

export const FACTOR_GRAM_FUSED: KernelSpec = {
  name: "factor_gram_fused",
  code: fusedCode,
  bindings: ["uniform", "read", "read", "read", "read", "read", "write"],
};

/** Mirrors `struct Params` in factor_gram.wgsl and factor_gram_fused.wgsl. */
export const FACTOR_GRAM_PARAMS: ParamsLayout = [
  ["m", "u32"],
  ["n", "u32"],
  ["c", "u32"],
  ["d", "u32"],
  ["bias", "f32"],
];

/** Rows per tile (TM in the shader). */
const TILE_ROWS = 16;
/** Columns per lane (CL in the shader). */
const LANE_COLS = 8;
/** Lanes per workgroup: one AVX2 SIMD group on lavapipe (see pairwise.wgsl's header). */
const WG = 8;
/** factor_gram_fused's tile: 8·TY rows × 4·TX columns, TX = 16 and TY = 8 (its defaults). */
const FUSED_ROWS = 64;
const FUSED_COLS = 64;

/** The factors of one row set's gradients gᵢ = [eᵢ ⊗ hᵢ, eᵢ]. */
export interface Factors {
  /** (n, C) f32: softmax(zᵢ) − onehot(yᵢ). */
  e: Tensor;
  /** (n, D) f32: the last layer's input. */
  h: Tensor;
}

/**
 * Float32 tolerance with C classes and D features: atol and rtol scale with √(C + D), the terms summed.
 * Pass the block's max |entry| as `scale` (cosines are at most 1).
 */
export function factorGramTolerance(c: number, d: number): { atol: number; rtol: number } {
  const k = Math.sqrt(Math.max(c + d, 1));
  return { atol: 1e-6 * k, rtol: 2e-6 * k };
}

/** Options of `encodeFactorGram`. */
export interface FactorGramOptions {
  /** gᵢ includes the bias part eᵢ (β = 1, the default); false: the weight part only (β = 0, NFG). */
  bias?: boolean;
  /** Divide by ‖g1ᵢ‖ ‖g2ⱼ‖ (default false); 0 where either gradient is 0. */
  cosine?: boolean;
  /** The computation: by default "blocked" on CPU adapters and "fused" on GPUs (see below). */
  variant?: FactorGramVariant;
}

/**
 * "blocked": factor_gram.wgsl, both inner products per entry in one register-blocked kernel (8-lane
 * workgroups: lavapipe's best, 16–18 GFLOP/s). "fused": factor_gram_fused.wgsl, the two products tiled in
 * workgroup memory and combined per tile, for GPUs, where 8-lane workgroups leave most of each warp idle
 * (n = 6,000 on an H100: 1.8–1.9 ms against 14 ms blocked and 9.2 ms for materialising gᵢ; two matmuls
 * and a combine pass, the path before it, took 2.6 ms and an (n1, n2) temporary: bench/RESULTS.md).
 * Neither forms gᵢ. "fused" needs the output in one binding; past that it falls back to "blocked", which
 * is split into row chunks.
 */
export type FactorGramVariant = "blocked" | "fused";

/** The (n1, n2, C, D) of a factor_gram block, validated. */
export function factorGramShape(a: Factors, b: Factors): [number, number, number, number] {
  const [n1, c] = dims2("factor_gram", "e1", a.e);
  const [n2, c2] = dims2("factor_gram", "e2", b.e);
  const [, d] = dims2("factor_gram", "h1", a.h);
  const [, d2] = dims2("factor_gram", "h2", b.h);
  for (const [name, t] of [["e1", a.e], ["h1", a.h], ["e2", b.e], ["h2", b.h]] as const) {
    expectDType("factor_gram", name, t, "f32");
  }
  const shapes = `e1 ${fmtShape(a.e.shape)}, h1 ${fmtShape(a.h.shape)}, e2 ${fmtShape(b.e.shape)}, ` +
    `h2 ${fmtShape(b.h.shape)}`;
  if (a.h.shape[0] !== n1 || b.h.shape[0] !== n2) {
    throw new ShapeError(`factor_gram: e and h of a row set must have as many rows: ${shapes}`);
  }
  if (c !== c2 || d !== d2) {
    throw new ShapeError(`factor_gram: the row sets' classes or features differ: ${shapes}`);
  }
  return [n1, n2, c, d];
}

/** Records G[i, j] = ⟨g1ᵢ, g2ⱼ⟩ (or its cosine) into `out` (n1, n2). */
export function encodeFactorGram(
  step: Step,
  a: Factors,
  b: Factors,
  out: Tensor,
  opts: FactorGramOptions = {},
): void {
  const [n1, n2, c, d] = factorGramShape(a, b);
  expectShape("factor_gram", "out", out, [n1, n2]);
  expectDType("factor_gram", "out", out, "f32");
  if (n1 === 0 || n2 === 0) return;
  const bias = (opts.bias ?? true) ? 1 : 0;
  // Only set 1's rows and the output's can be cut into contiguous chunks.
  const chunks = rowChunks(step.gpu, n1, [c * 4, d * 4, n2 * 4]);
  const variant = opts.variant ?? (step.gpu.onCpu ? "blocked" : "fused");
  const fusedFits = Math.max(ceilDiv(n2, FUSED_COLS), ceilDiv(n1, FUSED_ROWS)) <=
    step.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (variant === "fused" && chunks.length === 1 && fusedFits) {
    encodeFused(step, a, b, out, { n1, n2, c, d, bias, cosine: !!opts.cosine });
    return;
  }
  const constants = { COSINE: !!opts.cosine, WG };
  const max = step.gpu.limits.maxComputeWorkgroupsPerDimension;
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(FACTOR_GRAM_PARAMS, { m: rows, n: n2, c, d, bias });
    step.dispatch(FACTOR_GRAM, constants, params, [
      whole ? a.e : rowSlice(a.e, r0, rows, c * 4),
      whole ? a.h : rowSlice(a.h, r0, rows, d * 4),
      b.e,
      b.h,
      whole ? out : rowSlice(out, r0, rows, n2 * 4),
    ], [Math.min(ceilDiv(n2, LANE_COLS * WG), max), Math.min(ceilDiv(rows, TILE_ROWS), max)]);
  }
}

/** The "fused" path: both products per tile of G in one kernel, with the rows' squared norms for COSINE. */
function encodeFused(
  step: Step,
  a: Factors,
  b: Factors,
  out: Tensor,
  v: { n1: number; n2: number; c: number; d: number; bias: number; cosine: boolean },
) {
  const { n1, n2, c, d } = v;
  // (2·n1 + 2·n2): ‖e1ᵢ‖², ‖h1ᵢ‖², ‖e2ⱼ‖², ‖h2ⱼ‖²; without COSINE never read, so e1 stands in.
  let nrm = a.e;
  if (v.cosine) {
    nrm = empty(step.gpu, [2 * (n1 + n2)], "f32", "factor_gram.norms");
    let at = 0;
    for (const t of [a.e, a.h, b.e, b.h]) {
      const sq = sqNorms(step, t);
      step.copy(sq, nrm, 4 * sq.size, 0, 4 * at);
      at += sq.size;
      step.release(sq);
    }
  }
  const params = packParams(FACTOR_GRAM_PARAMS, { m: n1, n: n2, c, d, bias: v.bias });
  const grid = [ceilDiv(n2, FUSED_COLS), ceilDiv(n1, FUSED_ROWS)] as const;
  step.dispatch(FACTOR_GRAM_FUSED, { COSINE: v.cosine }, params, [a.e, a.h, b.e, b.h, nrm, out], grid);
  if (v.cosine) step.release(nrm);
}

/** The block ⟨g1ᵢ, g2ⱼ⟩ (or its cosine) into a new (n1, n2) tensor. */
export function factorGram(step: Step, a: Factors, b: Factors, opts: FactorGramOptions = {}): Tensor {
  const [n1, n2] = factorGramShape(a, b);
  const out = empty(step.gpu, [n1, n2], "f32", "factor_gram.out");
  encodeFactorGram(step, a, b, out, opts);
  return out;
}
