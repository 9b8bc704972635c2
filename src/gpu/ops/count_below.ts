/**
 * count_below: per-row count of the entries of an (n, m) block strictly below a threshold, optionally
 * skipping the diagonal of the square matrix the block belongs to and adding to earlier counts
 * (shaders/count_below.wgsl). Rows are split into chunks when they exceed the storage binding limit.
 */
import code from "../../../shaders/count_below.wgsl" with { type: "text" };
import { InvalidInputError } from "../../errors.ts";
import type { KernelSpec } from "../pipelines.ts";
import type { Step } from "../step.ts";
import { empty, type Tensor } from "../tensor.ts";
import { packParams, type ParamsLayout } from "../uniforms.ts";
import { dims2, expectDType, expectShape, rowChunks, rowSlice } from "./common.ts";

export const COUNT_BELOW: KernelSpec = { name: "count_below", code, bindings: ["uniform", "read", "write"] };

/** Mirrors `struct Params` in count_below.wgsl. */
export const COUNT_BELOW_PARAMS: ParamsLayout = [
  ["n", "u32"],
  ["m", "u32"],
  ["threshold", "f32"],
  ["r0", "u32"],
  ["c0", "u32"],
  ["accumulate", "u32"],
];

/** Options of `encodeCountBelow`. */
export interface CountBelowOptions {
  /** Entries strictly below it count; finite (it is compared as f32). */
  threshold: number;
  /** Skip entries on the diagonal of the square matrix the block belongs to (default false). */
  excludeDiagonal?: boolean;
  /** Row of the square matrix where the block starts (default 0). */
  rowOffset?: number;
  /** Column of the square matrix where the block starts (default 0). */
  colOffset?: number;
  /** Add to the counts already in the output (default false: overwrite). */
  accumulate?: boolean;
}

/** The (n, m) of a count_below block, validated with its options. */
export function countBelowShape(a: Tensor, opts: CountBelowOptions): [number, number] {
  const [n, m] = dims2("count_below", "A", a);
  expectDType("count_below", "A", a, "f32");
  if (!Number.isFinite(opts.threshold)) {
    throw new InvalidInputError(`count_below: the threshold must be finite, got ${opts.threshold}`);
  }
  for (const key of ["rowOffset", "colOffset"] as const) {
    const v = opts[key] ?? 0;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new InvalidInputError(`count_below: ${key} must be a non-negative integer, got ${v}`);
    }
  }
  return [n, m];
}

/** Records counts[i] (+)= #{ j : A[i, j] < threshold } into `counts` (n) u32. */
export function encodeCountBelow(
  step: Step,
  a: Tensor,
  counts: Tensor<"u32">,
  opts: CountBelowOptions,
): void {
  const [n, m] = countBelowShape(a, opts);
  expectShape("count_below", "counts", counts, [n]);
  expectDType("count_below", "counts", counts, "u32");
  if (n === 0) return;
  const constants = { EXCLUDE_DIAG: !!opts.excludeDiagonal };
  const max = step.gpu.limits.maxComputeWorkgroupsPerDimension;
  const chunks = rowChunks(step.gpu, n, [m * 4, 4]);
  for (const [r0, rows] of chunks) {
    const whole = chunks.length === 1;
    const params = packParams(COUNT_BELOW_PARAMS, {
      n: rows,
      m,
      threshold: opts.threshold,
      r0: (opts.rowOffset ?? 0) + r0,
      c0: opts.colOffset ?? 0,
      accumulate: opts.accumulate ? 1 : 0,
    });
    step.dispatch(COUNT_BELOW, constants, params, [
      whole ? a : rowSlice(a, r0, rows, m * 4),
      whole ? counts : rowSlice(counts, r0, rows, 4),
    ], [Math.min(rows, max)]);
  }
}

/** Per-row counts of entries below the threshold into a new (n) u32 tensor. */
export function countBelow(step: Step, a: Tensor, opts: CountBelowOptions): Tensor<"u32"> {
  const [n] = countBelowShape(a, opts);
  const counts = empty(step.gpu, [n], "u32", "count_below.out");
  encodeCountBelow(step, a, counts, { ...opts, accumulate: false });
  return counts;
}
