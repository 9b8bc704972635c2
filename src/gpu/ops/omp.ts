/**
 * The Batch-OMP kernel family (shaders/omp_*.wgsl). They only run together, on one shared state, so
 * they share one wrapper: the specs, the Params layout they all declare, and one `encode…` per kernel.
 * The loop that sequences them is `src/selection/omp_gpu.ts`; the state is described there and in each
 * shader header.
 */
import common from "../../../shaders/omp_common.wgsl" with { type: "text" };
import gramColumn from "../../../shaders/omp_gram_column.wgsl" with { type: "text" };
import gramKvec from "../../../shaders/omp_gram_kvec.wgsl" with { type: "text" };
import gramResidual from "../../../shaders/omp_gram_residual.wgsl" with { type: "text" };
import directResidual from "../../../shaders/omp_direct_residual.wgsl" with { type: "text" };
import append from "../../../shaders/omp_append.wgsl" with { type: "text" };
import schur from "../../../shaders/omp_schur.wgsl" with { type: "text" };
import rank1 from "../../../shaders/omp_rank1.wgsl" with { type: "text" };
import solve from "../../../shaders/omp_solve.wgsl" with { type: "text" };
import repairPick from "../../../shaders/omp_repair_pick.wgsl" with { type: "text" };
import downdate from "../../../shaders/omp_downdate.wgsl" with { type: "text" };
import refineResidual from "../../../shaders/omp_refine_residual.wgsl" with { type: "text" };
import refineApply from "../../../shaders/omp_refine_apply.wgsl" with { type: "text" };
import rowdot from "../../../shaders/omp_rowdot.wgsl" with { type: "text" };
import factoredCorr from "../../../shaders/omp_factored_corr.wgsl" with { type: "text" };
import collect from "../../../shaders/omp_collect.wgsl" with { type: "text" };
import rowdotF16Batch from "../../../shaders/omp_rowdot_f16_batch.wgsl" with { type: "text" };
import batchArgmax from "../../../shaders/omp_batch_argmax.wgsl" with { type: "text" };
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import type { Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { unroll } from "../unroll.ts";
import { grid1d } from "./common.ts";

type K = "uniform" | "read" | "write";
/** A kernel of the family: its source with omp_common.wgsl (Params, NONE) prepended. */
const spec = (name: string, code: string, bindings: K[]): KernelSpec => ({
  name,
  code: `${common}\n${code}`,
  bindings: ["uniform", ...bindings],
});

export const OMP_GRAM_COLUMN = spec("omp_gram_column", gramColumn, ["read", "read", "read", "read", "write"]);
export const OMP_GRAM_KVEC = spec("omp_gram_kvec", gramKvec, ["read", "read", "read", "read", "write"]);
export const OMP_GRAM_RESIDUAL = spec("omp_gram_residual", gramResidual, [
  "read",
  "read",
  "read",
  "read",
  "write",
]);
export const OMP_DIRECT_RESIDUAL = spec("omp_direct_residual", directResidual, [
  "read",
  "read",
  "read",
  "read",
  "read",
  "write",
]);
export const OMP_APPEND = spec("omp_append", append, ["read", "read", "read", "read", "write"]);
export const OMP_SCHUR = spec("omp_schur", schur, [
  "read",
  "read",
  "read",
  "write",
  "write",
  "write",
  "write",
]);
export const OMP_RANK1 = spec("omp_rank1", rank1, ["read", "read", "read", "read", "write", "write"]);
export const OMP_SOLVE = spec("omp_solve", solve, ["read", "read", "read", "write"]);
export const OMP_REPAIR_PICK = spec("omp_repair_pick", repairPick, [
  "read",
  "read",
  "read",
  "write",
  "write",
  "write",
]);
export const OMP_DOWNDATE = spec("omp_downdate", downdate, ["read", "write", "write", "write"]);
export const OMP_REFINE_RESIDUAL = spec("omp_refine_residual", refineResidual, [
  "read",
  "read",
  "read",
  "read",
  "write",
]);
export const OMP_ROWDOT = spec("omp_rowdot", rowdot, ["read", "read", "read", "read", "read", "write"]);
export const OMP_REFINE_APPLY = spec("omp_refine_apply", refineApply, ["read", "read", "write"]);
export const OMP_FACTORED_CORR = spec("omp_factored_corr", factoredCorr, ["read", "read", "read", "write"]);

/** omp_collect's two passes; they have their own Params (not one of the all-GPU engine's kernels). */
const collectSpec = (entry: string): KernelSpec => ({
  name: "omp_collect",
  code: collect,
  entry,
  bindings: ["uniform", "read", "read", "read", "write"],
});
export const OMP_COLLECT_HIST = collectSpec("hist");
export const OMP_COLLECT = collectSpec("collect");

/** Mirrors `struct Params` in omp_collect.wgsl. */
export const OMP_COLLECT_PARAMS: ParamsLayout = [
  ["n", "u32"],
  ["base", "u32"],
  ["slack", "f32"],
  ["scale", "f32"],
];

/** Every OMP kernel (for the Params-layout test). */
export const OMP_KERNELS = [
  OMP_GRAM_COLUMN,
  OMP_GRAM_KVEC,
  OMP_GRAM_RESIDUAL,
  OMP_DIRECT_RESIDUAL,
  OMP_APPEND,
  OMP_SCHUR,
  OMP_RANK1,
  OMP_SOLVE,
  OMP_REPAIR_PICK,
  OMP_DOWNDATE,
  OMP_REFINE_RESIDUAL,
  OMP_REFINE_APPLY,
  OMP_ROWDOT,
  OMP_FACTORED_CORR,
];

/** Mirrors `struct Params` in every omp_*.wgsl. */
export const OMP_PARAMS: ParamsLayout = [
  ["n", "u32"],
  ["d", "u32"],
  ["dh", "u32"],
  ["cap", "u32"],
  ["slot", "u32"],
  ["k", "u32"],
  ["lambda", "f32"],
  ["bias", "f32"],
];

/** Values of the OMP Params for one iteration. */
export interface OmpParams {
  n: number;
  d: number;
  dh: number;
  cap: number;
  slot: number;
  k: number;
  lambda: number;
  bias: number;
}

/** The shared state of one OMP run on the GPU (shapes in src/selection/omp_gpu.ts). */
export interface OmpState {
  ctl: Tensor<"u32">;
  pick: Tensor<"u32">;
  sel: Tensor<"u32">;
  mask: Tensor<"u32">;
  kvec: Tensor;
  w: Tensor;
  scal: Tensor;
  ainv: Tensor;
  /** (8) u32 indirect grids written by omp_repair_pick: [0..3) downdate, [3..6) re-solve. */
  args: Tensor<"u32">;
  kss: Tensor;
  res: Tensor;
  coef: Tensor;
  p0: Tensor;
  corr: Tensor;
}

const WG = 256;

/** Records one OMP kernel with the iteration's Params; `threads` sets the grid (or `groups` directly). */
function run(
  step: Step,
  k: KernelSpec,
  p: OmpParams,
  bindings: Tensor<"u32" | "f32">[],
  threads: number,
  constants = {},
) {
  const params = packParams(OMP_PARAMS, { ...p });
  step.dispatch(k, constants, params, bindings, grid1d(step.gpu, ceilDiv(threads, WG)));
}

/** Factored: kcols[:, slot] = Gram column of the picked atom. */
export function encodeGramColumn(
  step: Step,
  p: OmpParams,
  s: OmpState,
  e: Tensor,
  h: Tensor,
  kcols: Tensor,
): void {
  run(step, OMP_GRAM_COLUMN, p, [e, h, s.pick, s.ctl, kcols], p.n);
}

/** Factored: kvec from the stored column. */
export function encodeGramKvec(step: Step, p: OmpParams, s: OmpState, kcols: Tensor): void {
  run(step, OMP_GRAM_KVEC, p, [kcols, s.pick, s.ctl, s.sel, s.kvec], p.slot + 1);
}

/** Factored: corr = p⁰ − K_{:,S} c. */
export function encodeGramResidual(step: Step, p: OmpParams, s: OmpState, kcols: Tensor): void {
  run(step, OMP_GRAM_RESIDUAL, p, [s.p0, kcols, s.coef, s.ctl, s.corr], p.n);
}

/** Rows per workgroup of omp_rowdot (WG / LANES). */
const ROWDOT_ROWS = WG / 8;

/** Dense: kvec = G_S gⱼ and ‖gⱼ‖² (cooperative row dots). */
export function encodeDirectKvec(step: Step, p: OmpParams, s: OmpState, g: Tensor): void {
  const params = packParams(OMP_PARAMS, { ...p });
  const groups = grid1d(step.gpu, ceilDiv(p.slot + 1, ROWDOT_ROWS));
  step.dispatch(OMP_ROWDOT, { KVEC: true }, params, [g, s.res, s.pick, s.ctl, s.sel, s.kvec], groups);
}

/** Dense: r = b − G_Sᵀ c. */
export function encodeDirectResidual(
  step: Step,
  p: OmpParams,
  s: OmpState,
  g: Tensor,
  target: Tensor,
  r: Tensor,
): void {
  run(step, OMP_DIRECT_RESIDUAL, p, [g, target, s.sel, s.coef, s.ctl, r], p.d);
}

/** Dense: corr = G r (cooperative row dots). */
export function encodeDirectCorr(step: Step, p: OmpParams, s: OmpState, g: Tensor, r: Tensor): void {
  const params = packParams(OMP_PARAMS, { ...p });
  const groups = grid1d(step.gpu, ceilDiv(p.n, ROWDOT_ROWS));
  step.dispatch(OMP_ROWDOT, { KVEC: false }, params, [g, r, s.pick, s.ctl, s.sel, s.corr], groups);
}

/** w = A⁻¹ k. */
export function encodeAppend(step: Step, p: OmpParams, s: OmpState): void {
  run(step, OMP_APPEND, p, [s.ainv, s.kvec, s.pick, s.ctl, s.w], Math.max(1, p.slot));
}

/** Schur complement and the accept/stop decision (single workgroup). */
export function encodeSchur(step: Step, p: OmpParams, s: OmpState): void {
  const params = packParams(OMP_PARAMS, { ...p });
  step.dispatch(OMP_SCHUR, {}, params, [s.pick, s.kvec, s.w, s.ctl, s.sel, s.mask, s.scal], [1]);
}

/** Block-inverse update over the (slot + 1)² block: one workgroup row per matrix row. */
export function encodeRank1(step: Step, p: OmpParams, s: OmpState): void {
  const params = packParams(OMP_PARAMS, { ...p });
  step.dispatch(OMP_RANK1, {}, params, [s.w, s.scal, s.ctl, s.kvec, s.ainv, s.kss], [
    ceilDiv(p.slot + 1, WG),
    p.slot + 1,
  ]);
}

/**
 * c = A⁻¹ q, then `refine` steps of iterative refinement c ← c + A⁻¹(q − (K_SS + λI)c). With `afterRepair`
 * the grids come from omp_repair_pick (empty when nothing was dropped).
 */
export function encodeSolve(step: Step, p: OmpParams, s: OmpState, refine = 1, afterRepair = false): void {
  const params = packParams(OMP_PARAMS, { ...p });
  const groups = afterRepair ? { indirect: s.args, offset: 12 } : grid1d(step.gpu, ceilDiv(p.slot + 1, WG));
  step.dispatch(OMP_SOLVE, {}, params, [s.ainv, s.sel, s.p0, s.coef], groups);
  for (let i = 0; i < refine; i++) {
    step.dispatch(OMP_REFINE_RESIDUAL, {}, params, [s.kss, s.sel, s.p0, s.coef, s.res], groups);
    step.dispatch(OMP_REFINE_APPLY, {}, params, [s.ainv, s.res, s.coef], groups);
  }
}

/** Picks the most negative coefficient to drop (or only counts one, with `countOnly`). */
export function encodeRepairPick(step: Step, p: OmpParams, s: OmpState, countOnly = false): void {
  const params = packParams(OMP_PARAMS, { ...p });
  step.dispatch(OMP_REPAIR_PICK, { COUNT_ONLY: countOnly }, params, [
    s.ainv,
    s.sel,
    s.coef,
    s.ctl,
    s.w,
    s.args,
  ], [1]);
}

/** Removes the picked slot from the inverse (indirect grid: empty when nothing was picked). */
export function encodeDowndate(step: Step, p: OmpParams, s: OmpState): void {
  const params = packParams(OMP_PARAMS, { ...p });
  step.dispatch(OMP_DOWNDATE, {}, params, [s.w, s.ctl, s.sel, s.ainv], { indirect: s.args, offset: 0 });
}

/**
 * Factored (hybrid engine): corr = ⟨gᵢ, r⟩ from e (n, C), ht = hᵀ (D, 4⌈n/4⌉) and rt, r class-minor and
 * class-padded (D + 1, 4⌈C/4⌉).
 */
export function encodeFactoredCorr(
  step: Step,
  p: OmpParams,
  e: Tensor,
  ht: Tensor,
  rt: Tensor,
  corr: Tensor,
): void {
  const params = packParams(OMP_PARAMS, { ...p });
  const groups = grid1d(step.gpu, ceilDiv(ceilDiv(p.n, 8), 8));
  step.dispatch(OMP_FACTORED_CORR, {}, params, [e, ht, rt, corr], groups);
}

/** Rows per lane of omp_rowdot_f16_batch (RB), and per workgroup of 8 lanes (RB·WG). */
const ROWDOT_F16_BATCH_RB = 8;
const ROWDOT_F16_BATCH_ROWS = 8 * ROWDOT_F16_BATCH_RB;

/**
 * omp_rowdot_f16_batch (hybrid engine, dense): the correlations of every row with a batch of residuals.
 * Its own Params, as omp_collect. g is padded to `rowdotF16BatchRows(n)` rows (the shader's RB·WG rows
 * per workgroup); x holds a multiple of 8 residuals. Two variants: 8 residual columns per z-slice, and 4
 * for a batch's last ≤ 4 columns (a slice's columns cost the same used or not).
 */
const rowdotF16BatchSpec = (mc: 4 | 8): KernelSpec => ({
  name: `omp_rowdot_f16_batch_${mc}`,
  code: unroll(`const MC: u32 = ${mc}u;\nconst RB: u32 = ${ROWDOT_F16_BATCH_RB}u;\n${rowdotF16Batch}`, {
    MC: mc,
    RB: ROWDOT_F16_BATCH_RB,
  }),
  bindings: ["uniform", "read", "read", "read", "write", "write"],
});
export const OMP_ROWDOT_F16_BATCH = rowdotF16BatchSpec(8);
export const OMP_ROWDOT_F16_BATCH_4 = rowdotF16BatchSpec(4);

/** Mirrors `struct Params` in omp_rowdot_f16_batch.wgsl. */
export const OMP_ROWDOT_F16_BATCH_PARAMS: ParamsLayout = [
  ["n", "u32"],
  ["q", "u32"],
  ["np", "u32"],
  ["cols", "u32"],
  ["col0", "u32"],
];

/** Argmax partials per column that omp_rowdot_f16_batch leaves for n rows (one per lane). */
export function rowdotF16BatchLanes(n: number): number {
  return rowdotF16BatchRows(n) / ROWDOT_F16_BATCH_RB;
}

/** Rows of g (and the row stride of corr) for n rows: n padded to whole workgroups. */
export function rowdotF16BatchRows(n: number): number {
  return ROWDOT_F16_BATCH_ROWS * Math.max(1, ceilDiv(n, ROWDOT_F16_BATCH_ROWS));
}

/**
 * corr[m·np + i] = ⟨g̃ᵢ, x_m⟩ for m < cols (−FLT_MAX where lvl masks row i from column m on), and each
 * column's argmax partials in best (cols · rowdotF16BatchLanes(n) pairs). g16: the transposed f16 rows,
 * (q, np) vec4<u32> of 8 halves each (q = ⌈d/8⌉); x: (⌈cols/8⌉·8, 2q) vec4s.
 */
export function encodeRowdotF16Batch(
  step: Step,
  v: { n: number; q: number; cols: number },
  bufs: { g16: Tensor<"u32">; x: Tensor; lvl: Tensor<"u32">; corr: Tensor; best: Tensor<"u32"> },
): void {
  const np = rowdotF16BatchRows(v.n);
  const grid = grid1d(step.gpu, np / ROWDOT_F16_BATCH_ROWS);
  const bindings = [bufs.g16, bufs.x, bufs.lvl, bufs.corr, bufs.best];
  // Whole slices of 8, the last one also when it holds 5–7 columns; 1–4 left: one slice of 4.
  const rest = v.cols % 8;
  const eights = rest >= 1 && rest <= 4 ? Math.floor(v.cols / 8) : ceilDiv(v.cols, 8);
  const params = (col0: number) => packParams(OMP_ROWDOT_F16_BATCH_PARAMS, { ...v, np, col0 });
  step.dispatch(OMP_ROWDOT_F16_BATCH, {}, params(0), bindings, [...grid, eights]);
  if (8 * eights < v.cols) {
    step.dispatch(OMP_ROWDOT_F16_BATCH_4, {}, params(8 * eights), bindings, [...grid, 1]);
  }
}

export const OMP_BATCH_ARGMAX: KernelSpec = {
  name: "omp_batch_argmax",
  code: batchArgmax,
  bindings: ["uniform", "read", "write"],
};

/** Mirrors `struct Params` in omp_batch_argmax.wgsl. */
export const OMP_BATCH_ARGMAX_PARAMS: ParamsLayout = [
  ["cols", "u32"],
  ["lanes", "u32"],
  ["stride", "u32"],
];

/**
 * Each column's argmax (positive values only, lowest row on ties) from omp_rowdot_f16_batch's partials,
 * written to out[m·stride] (row or NONE) and out[m·stride + 1] (its value's bits) for m < cols: the first
 * two words of the column's omp_collect record.
 */
export function encodeBatchArgmax(
  step: Step,
  v: { n: number; cols: number; stride: number },
  bufs: { best: Tensor<"u32">; out: Tensor<"u32"> },
): void {
  if (v.cols === 0) return;
  const params = packParams(OMP_BATCH_ARGMAX_PARAMS, {
    cols: v.cols,
    lanes: rowdotF16BatchLanes(v.n),
    stride: v.stride,
  });
  step.dispatch(OMP_BATCH_ARGMAX, {}, params, [bufs.best, bufs.out], [v.cols]);
}

/** Capacities of omp_collect's two lists. */
export interface CollectLayout {
  window: number;
  pool: number;
}

/** Words of one omp_collect record: winner, its bits, two counts, the two lists, the 64-level histogram. */
export function collectStride(l: CollectLayout): number {
  return 4 + l.window + l.pool + 64;
}

/**
 * The window and pool lists of one pass into out[base..] (out[base], out[base + 1] must already hold the
 * masked_argmax winner, and the counts and histogram zero).
 */
export function encodeCollect(
  step: Step,
  l: CollectLayout,
  v: { n: number; base: number; slack: number; scale: number },
  bufs: { corr: Tensor; mask: Tensor<"u32">; norms: Tensor; out: Tensor<"u32"> },
): void {
  const params = packParams(OMP_COLLECT_PARAMS, v);
  const bindings = [bufs.corr, bufs.mask, bufs.norms, bufs.out];
  const groups = grid1d(step.gpu, ceilDiv(v.n, WG));
  const constants = { WINDOW: l.window, POOL: l.pool };
  step.dispatch(OMP_COLLECT_HIST, constants, params, bindings, groups);
  step.dispatch(OMP_COLLECT, constants, params, bindings, groups);
}
