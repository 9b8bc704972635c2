/**
 * Batch-OMP with the t × t algebra in float64 on the CPU and the O(n·t) work on the GPU — the default
 * engine of GRAD-MATCH (algorithms.md; Rubinstein, Zibulevsky & Elad's Batch-OMP). Per iteration:
 *   GPU  p = p⁰ − K_{:,S} c  (factored: stored Gram columns; dense: r = b − G_Sᵀc, then G r),
 *        j = argmax_{unmasked, pᵢ > 0} pᵢ, and, once j is accepted, its Gram column
 *   →    two u32 read back (j and the bits of pⱼ): the only read-back of the iteration
 *   CPU  K_{S,j} from the features in float64 (t·(C + D) or t·d flops), the incremental Cholesky factor
 *        of K_SS + λI (append; Givens removal for the non-negativity repair, repeated until no weight is
 *        negative, exactly as the reference does), c from two triangular solves, uploaded for the next
 *        GPU step.
 * The all-GPU engine (`omp_gpu.ts`) never reads back per iteration but keeps A⁻¹ in float32, which is
 * not enough on ill-conditioned real gradients (one Fashion-MNIST class: objective 2× the reference's);
 * this one matches the float64 reference and pays one ~11 ms GPU→CPU round trip per iteration.
 */
import type { Gpu } from "../gpu/device.ts";
import { Step } from "../gpu/step.ts";
import { type Tensor, tensor } from "../gpu/tensor.ts";
import { decodeMaskedArgmax, encodeMaskedArgmax } from "../gpu/ops/masked_argmax.ts";
import { encodeColSum } from "../gpu/ops/reduce_cols.ts";
import * as omp from "../gpu/ops/omp.ts";
import { throwIfAborted } from "../errors.ts";
import { Cholesky } from "./cholesky.ts";
import { addRow, type CpuFeatures, featureDim, gramEntry, rowDot } from "./features.ts";
import {
  checkGramColumns,
  emptyOmpResult,
  type OmpOptions,
  type OmpProblem,
  type OmpResult,
  slotCapacity,
} from "./omp_gpu.ts";

const NONE = 0xffffffff;

/** The GPU side of one run: correlations, mask, pick, and the per-slot coefficients. */
interface Device {
  corr: Tensor;
  mask: Tensor<"u32">;
  pick: Tensor<"u32">;
  coef: Tensor;
  sel: Tensor<"u32">;
  state: omp.OmpState;
  /** Records p = p⁰ − K_{:,S}c (after adding the Gram column of the accepted pick at `slot`). */
  update(step: Step, slot: number, accepted: boolean): void;
  dispose(): void;
}

/** Runs OMP with float64 Cholesky on the CPU (`cpu` holds the problem's rows, as the GPU tensors do). */
export async function ompHybrid(
  gpu: Gpu,
  problem: OmpProblem,
  cpu: CpuFeatures,
  opts: OmpOptions,
): Promise<OmpResult> {
  const n = cpu.n;
  const k = Math.min(opts.k, n);
  if (k < 1 || n === 0) return emptyOmpResult();
  const cap = slotCapacity(n, k, opts.spareSlots);
  const lambda = opts.lambda ?? 0;
  const b = new Float64Array(featureDim(cpu));
  for (let i = 0; i < n; i++) addRow(cpu, i, 1, b);
  const dev = await setUp(gpu, problem, n, cap);
  try {
    const chol = new Cholesky(cap);
    const active: { row: number; slot: number; q: number }[] = [];
    let c: Float64Array = new Float64Array(0);
    let pick = await argmax(gpu, dev);
    let slot = 0;
    for (; slot < cap && active.length < k; slot++) {
      throwIfAborted(opts.signal);
      if (!pick) break;
      const j = pick.index;
      dev.mask.gpu.device.queue.writeBuffer(dev.mask.buffer, 4 * j, new Uint32Array([1]));
      const kS = active.map((a) => gramEntry(cpu, a.row, j));
      const accepted = chol.append(kS, gramEntry(cpu, j, j) + lambda);
      if (accepted) active.push({ row: j, slot, q: rowDot(cpu, j, b) });
      c = solveNonNegative(chol, active);
      opts.progress?.(active.length, k);
      if (active.length >= k) break;
      const coef = new Float32Array(cap);
      const sel = new Uint32Array(cap).fill(NONE);
      active.forEach((a, i) => {
        coef[a.slot] = c[i];
        sel[a.slot] = a.row;
      });
      dev.coef.write(coef);
      dev.sel.write(sel);
      const step = new Step(gpu, `omp iteration ${slot}`);
      dev.update(step, slot, accepted);
      encodeMaskedArgmax(step, dev.corr, dev.mask, dev.pick, { positiveOnly: true });
      await step.submit();
      pick = decodeMaskedArgmax(await dev.pick.read());
    }
    const keep = active.map((a, i) => [a.row, c[i]] as const).filter(([, w]) => w > 0);
    return {
      indices: Uint32Array.from(keep, (x) => x[0]),
      weights: Float32Array.from(keep, (x) => x[1]),
      iterations: slot + 1,
      unresolvedNegatives: 0,
    };
  } finally {
    dev.dispose();
  }
}

/** Ridge weights of the active set; while one is negative, drop the most negative atom and re-solve. */
function solveNonNegative(chol: Cholesky, active: { row: number; slot: number; q: number }[]): Float64Array {
  for (;;) {
    const c = chol.solve(active.map((a) => a.q));
    let worst = -1;
    for (let i = 0; i < c.length; i++) if (c[i] < 0 && (worst < 0 || c[i] < c[worst])) worst = i;
    if (worst < 0) return c;
    chol.remove(worst);
    active.splice(worst, 1);
  }
}

async function argmax(gpu: Gpu, dev: Device): Promise<{ index: number; value: number } | null> {
  const step = new Step(gpu, "omp first pick");
  encodeMaskedArgmax(step, dev.corr, dev.mask, dev.pick, { positiveOnly: true });
  await step.submit();
  return decodeMaskedArgmax(await dev.pick.read());
}

/** GPU buffers and the per-iteration correlation update for a factored or dense problem. */
async function setUp(gpu: Gpu, problem: OmpProblem, n: number, cap: number): Promise<Device> {
  const owned: Tensor<"u32" | "f32">[] = [];
  const own = <T extends Tensor<"u32" | "f32">>(t: T) => (owned.push(t), t);
  const f = (len: number, label: string) => own(tensor(gpu, new Float32Array(len), [len], label));
  const ctl = own(tensor(gpu, new Uint32Array(8), [8], "omp.ctl"));
  const pick = own(tensor(gpu, new Uint32Array(2), [2], "omp.pick"));
  const sel = own(tensor(gpu, new Uint32Array(cap).fill(NONE), [cap], "omp.sel"));
  const coef = f(cap, "omp.coef");
  const mask = own(tensor(gpu, new Uint32Array(n), [n], "omp.mask"));
  const corr = f(n, "omp.corr");
  const p0 = f(n, "omp.p0");
  const state = { ctl, pick, sel, coef, mask, corr, p0 } as unknown as omp.OmpState;
  const base = { n, d: 0, dh: 0, cap, slot: 0, k: cap, lambda: 0, bias: 0 };
  const dispose = () => owned.forEach((t) => t.dispose());
  const shared = { corr, mask, pick, coef, sel, state, dispose };
  if (problem.kind === "factored") {
    try {
      checkGramColumns(gpu, n, cap);
    } catch (e) {
      dispose();
      throw e;
    }
    const kcols = own(tensor(gpu, new Float32Array(n * cap), [n, cap], "omp.kcols"));
    p0.write(problem.p0);
    corr.write(problem.p0);
    const p = { ...base, d: problem.e.shape[1], dh: problem.h.shape[1], bias: problem.bias ? 1 : 0 };
    return {
      ...shared,
      update(step, slot, accepted) {
        if (accepted) omp.encodeGramColumn(step, { ...p, slot }, state, problem.e, problem.h, kcols);
        omp.encodeGramResidual(step, { ...p, slot }, state, kcols);
      },
    };
  }
  const d = problem.g.shape[1];
  const target = f(d, "omp.target");
  const r = f(d, "omp.r");
  const p = { ...base, d };
  const step = new Step(gpu, "omp init");
  encodeColSum(step, problem.g, target); // b = Σᵢ gᵢ
  omp.encodeDirectCorr(step, p, state, problem.g, target); // p⁰ = G b, into corr
  await step.submit();
  return {
    ...shared,
    update(step, slot) {
      omp.encodeDirectResidual(step, { ...p, slot }, state, problem.g, target, r);
      omp.encodeDirectCorr(step, { ...p, slot }, state, problem.g, r);
    },
  };
}
