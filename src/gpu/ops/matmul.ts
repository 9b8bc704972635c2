/**
 * matmul: C = alpha · op(A) · op(B) + beta · C on the GPU, op = identity or transpose, in one of two
 * kernels: shaders/matmul.wgsl (workgroup-memory tiles, for GPUs) or shaders/matmul_blocked.wgsl
 * (8-lane workgroups with register blocks, for CPU adapters such as lavapipe, where it is about 2× faster).
 * Rows of C (and of A when it is not transposed) are split into chunks when they exceed the storage
 * binding limit.
 */
import code from "../../../shaders/matmul.wgsl" with { type: "text" };
import blockedCode from "../../../shaders/matmul_blocked.wgsl" with { type: "text" };
import registerTiles from "../../../shaders/register_tiles.wgsl" with { type: "text" };
import { ShapeError } from "../../errors.ts";
import type { MatmulVariant } from "../device.ts";
import type { KernelSpec } from "../pipelines.ts";
import { ceilDiv, type Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectShape, fmtShape, rowChunks, rowSlice } from "./common.ts";

export const MATMUL: KernelSpec = { name: "matmul", code, bindings: ["uniform", "read", "read", "write"] };
export const MATMUL_BLOCKED: KernelSpec = {
  name: "matmul_blocked",
  code: registerTiles + blockedCode,
  bindings: ["uniform", "read", "read", "write"],
};

/** Mirrors `struct Params` in matmul.wgsl and matmul_blocked.wgsl. */
export const MATMUL_PARAMS: ParamsLayout = [["m", "u32"], ["n", "u32"], ["k", "u32"], ["alpha", "f32"], [
  "beta",
  "f32",
]];

/**
 * Thread grids (TX, TY) by width of C: each thread computes 8 rows × 4 columns, so a workgroup covers
 * (8·TY) × (4·TX). Narrow products get narrow tiles rather than a mostly empty 64-column one.
 */
export function matmulTiles(n: number): { TX: number; TY: number } {
  // Measured on lavapipe (bench/RESULTS.md): 4×32 and 8×32 are 1.5–2× faster than 16×16 on the
  // convolution shapes (n = 8..32), 16×16 is fastest from n = 64 on.
  if (n <= 16) return { TX: 4, TY: 32 };
  if (n <= 32) return { TX: 8, TY: 32 };
  return { TX: 16, TY: 16 };
}

/** Float32 tolerance for a product with inner dimension k: atol and rtol scale with √k. */
export function matmulTolerance(k: number): { atol: number; rtol: number } {
  return { atol: 1e-6 * Math.sqrt(Math.max(k, 1)), rtol: 2e-6 * Math.sqrt(Math.max(k, 1)) };
}

/** Options of `encodeMatmul`. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the previous C (default 0: C is overwritten). */
  beta?: number;
  /** The kernel: "tiled" (matmul.wgsl) or "blocked" (matmul_blocked.wgsl); default by adapter. */
  variant?: MatmulVariant;
}

export type { MatmulVariant };

/**
 * The kernel an (m × n) product runs on by default. GPUs: the tiled one. CPU adapters: the blocked one
 * for products wider than 32 columns (2× the tiled one from the MLP's 128 × 784 × 256 to 1024³ on
 * lavapipe) and for those whose tiled grid is one workgroup, which leaves a core idle (the gradients of
 * small layers and of convolution weights: 1.3–6× faster); the tiled kernel's narrow tiles stay faster
 * on tall, narrow products (the convolutions' im2col products, n = 8 or 16: 1.2–2×). GpuOptions.matmul
 * overrides the choice for a whole device. Measured with bench/kernels.ts's matmul cases and on the
 * shapes of the MLP and CNN steps (bench/RESULTS.md).
 */
export function defaultMatmulVariant(
  gpu: { onCpu: boolean; matmulVariant?: MatmulVariant | null },
  m: number,
  n: number,
): MatmulVariant {
  if (gpu.matmulVariant) return gpu.matmulVariant;
  if (!gpu.onCpu) return "tiled";
  const { TX, TY } = matmulTiles(n);
  return n > 32 || ceilDiv(n, 4 * TX) * ceilDiv(m, 8 * TY) <= 1 ? "blocked" : "tiled";
}

/** The (m, k, n) of op(A) · op(B), validated. */
export function matmulShape(a: Tensor, b: Tensor, opts: MatmulOptions = {}): [number, number, number] {
  const [ar, ac] = dims2("matmul", "A", a);
  const [br, bc] = dims2("matmul", "B", b);
  const [m, k] = opts.transA ? [ac, ar] : [ar, ac];
  const [k2, n] = opts.transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    throw new ShapeError(
      `matmul: inner dimensions differ: op(A) is ${fmtShape([m, k])} (A ${fmtShape(a.shape)}` +
        `${opts.transA ? "ᵀ" : ""}), op(B) is ${fmtShape([k2, n])} (B ${fmtShape(b.shape)}${
          opts.transB ? "ᵀ" : ""
        })`,
    );
  }
  return [m, k, n];
}

/** Records C = alpha · op(A) · op(B) + beta · C into `step`. */
export function encodeMatmul(step: Step, a: Tensor, b: Tensor, c: Tensor, opts: MatmulOptions = {}): void {
  const [m, k, n] = matmulShape(a, b, opts);
  expectShape("matmul", "C", c, [m, n]);
  const blocked = (opts.variant ?? defaultMatmulVariant(step.gpu, m, n)) === "blocked";
  const tiles = matmulTiles(n);
  const constants = blocked
    ? { TRANS_A: !!opts.transA, TRANS_B: !!opts.transB }
    : { TRANS_A: !!opts.transA, TRANS_B: !!opts.transB, ...tiles };
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  if (m === 0 || n === 0) return;
  // Only C's rows, and A's when A is row-major (m, k), can be cut into contiguous chunks.
  const chunks = opts.transA ? [[0, m] as [number, number]] : rowChunks(step.gpu, m, [k * 4, n * 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(MATMUL_PARAMS, { m: rows, n, k, alpha, beta });
    const bindings = [whole ? a : rowSlice(a, r0, rows, k * 4), b, whole ? c : rowSlice(c, r0, rows, n * 4)];
    if (blocked) {
      // A workgroup's tile: 16 rows × 64 columns (8 lanes × 8); tiles past the grid limit are looped over.
      const max = step.gpu.limits.maxComputeWorkgroupsPerDimension;
      const groups: [number, number] = [Math.min(ceilDiv(n, 64), max), Math.min(ceilDiv(rows, 16), max)];
      step.dispatch(MATMUL_BLOCKED, constants, params, bindings, groups);
    } else {
      step.dispatch(MATMUL, constants, params, bindings, [
        ceilDiv(n, 4 * tiles.TX),
        ceilDiv(rows, 8 * tiles.TY),
      ]);
    }
  }
}

/** op(A) · op(B) into a new (m, n) tensor. */
export function matmul(step: Step, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const [m, , n] = matmulShape(a, b, opts);
  const c = empty(step.gpu, [m, n], "f32", "matmul.out");
  encodeMatmul(step, a, b, c, { ...opts, beta: 0 });
  return c;
}
