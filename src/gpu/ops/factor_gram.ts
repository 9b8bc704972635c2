/**
 * factor_gram: a block of the Gram matrix of per-sample last-layer gradients, G[i, j] = ⟨g1ᵢ, g2ⱼ⟩ =
 * ⟨e1ᵢ, e2ⱼ⟩ (⟨h1ᵢ, h2ⱼ⟩ + β), computed from the factors e (n, C) and h (n, D) without forming gᵢ
 * (shaders/factor_gram.wgsl on CPU adapters, two matmuls and shaders/factor_gram_combine.wgsl on GPUs:
 * `FactorGramVariant`); optionally the cosine G[i, j] / (‖g1ᵢ‖ ‖g2ⱼ‖). Rows of set 1 and of the output
 * are split into chunks when they exceed the storage binding limit.
 */
import gramCode from "../../../shaders/factor_gram.wgsl" with { type: "text" };
import combineCode from "../../../shaders/factor_gram_combine.wgsl" with { type: "text" };
import fusedCode from "../../../shaders/factor_gram_fused.wgsl" with { type: "text" };
import registerTiles from "../../../shaders/register_tiles.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, fmtShape, grid1d, rowChunks, rowSlice } from "./common.ts";
import { encodeMatmul } from "./matmul.ts";
import { sqNorms } from "./reduce_rows.ts";

export const FACTOR_GRAM: KernelSpec = {
  name: "factor_gram",
  code: registerTiles + gramCode,
  bindings: ["uniform", "read", "read", "read", "read", "write"],
};

export const FACTOR_GRAM_COMBINE: KernelSpec = {
  name: "factor_gram_combine",
  code: combineCode,
  bindings: ["uniform", "write", "read", "read", "read", "read", "read"],
};

export const FACTOR_GRAM_FUSED: KernelSpec = {
  name: "factor_gram_fused",
  code: fusedCode,
  bindings: ["uniform", "read", "read", "read", "read", "read", "write"],
};

/** Mirrors `struct Params` in factor_gram_combine.wgsl. */
export const FACTOR_GRAM_COMBINE_PARAMS: ParamsLayout = [["m", "u32"], ["n", "u32"], ["bias", "f32"]];

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
/** Invocations per workgroup of the combine kernel. */
const COMBINE_WG = 64;
/** Lanes per workgroup: one AVX2 SIMD group on lavapipe (see pairwise.wgsl's header). */
const WG = 8;
/** factor_gram_fused's tile: 8·16 rows × 4·16 columns (TY, TX as in matmul.wgsl). */
const FUSED_ROWS = 128;
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
  /** The computation: by default "blocked" on CPU adapters and "products" on GPUs (see below). */
  variant?: FactorGramVariant;
}

/**
 * "blocked": factor_gram.wgsl, both inner products per entry in one register-blocked kernel (8-lane
 * workgroups: lavapipe's best, 16–18 GFLOP/s). "products": e1·e2ᵀ and h1·h2ᵀ as two matmuls, then
 * factor_gram_combine.wgsl — on a GPU the tiled matmul runs at tens of TFLOP/s while 8-lane workgroups
 * leave most of each warp idle (on an H200 the blocked kernel took 15 ms at n = 6,000, slower than
 * materialising gᵢ: bench/RESULTS.md). Both never form gᵢ. "products" needs an (n1, n2) temporary and
 * the output in one binding; past that it falls back to "blocked", which is split into row chunks.
 */
export type FactorGramVariant = "blocked" | "products" | "fused";

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
  const variant = opts.variant ?? (step.gpu.onCpu ? "blocked" : "products");
  if (variant === "products" && chunks.length === 1) {
    encodeProducts(step, a, b, out, { bias, cosine: !!opts.cosine });
    return;
  }
  const fusedFits = Math.max(ceilDiv(n2, FUSED_COLS), ceilDiv(n1, FUSED_ROWS)) <=
    step.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (variant === "fused" && chunks.length === 1 && fusedFits) {
    encodeFused(step, a, b, out, { bias, cosine: !!opts.cosine });
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

/** The "products" path: EE into `out`, HH into a temporary, then the combine kernel. */
function encodeProducts(
  step: Step,
  a: Factors,
  b: Factors,
  out: Tensor,
  v: { bias: number; cosine: boolean },
) {
  const [n1, n2] = [out.shape[0], out.shape[1]];
  encodeMatmul(step, a.e, b.e, out, { transB: true });
  const hh = empty(step.gpu, [n1, n2], "f32", "factor_gram.hh");
  encodeMatmul(step, a.h, b.h, hh, { transB: true });
  // Without COSINE the norms are not read: bind placeholders of the right kind.
  const norms = v.cosine
    ? [sqNorms(step, a.e), sqNorms(step, a.h), sqNorms(step, b.e), sqNorms(step, b.h)]
    : new Array<Tensor>(4).fill(hh);
  const params = packParams(FACTOR_GRAM_COMBINE_PARAMS, { m: n1, n: n2, bias: v.bias });
  step.dispatch(
    FACTOR_GRAM_COMBINE,
    { COSINE: v.cosine, WG: COMBINE_WG },
    params,
    [out, hh, ...norms],
    grid1d(step.gpu, ceilDiv(n1 * n2, COMBINE_WG)),
  );
  step.release(hh, ...(v.cosine ? norms : []));
}

/** The "fused" path: both products per tile of G in one kernel, with the rows' squared norms for COSINE. */
function encodeFused(
  step: Step,
  a: Factors,
  b: Factors,
  out: Tensor,
  v: { bias: number; cosine: boolean },
) {
  const [n1, n2, c, d] = factorGramShape(a, b);
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
