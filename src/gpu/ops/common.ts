/** Helpers shared by the kernel wrappers: shape validation and splitting work under binding limits. */
import { ShapeError } from "../../errors.ts";
import type { Gpu } from "../device.ts";
import type { DType, Tensor } from "../tensor.ts";
import type { Slice } from "../step.ts";

/** Shape as text for messages: "(3, 4)". */
export function fmtShape(shape: readonly number[]): string {
  return `(${shape.join(", ")})`;
}

/** Throws `ShapeError` naming the kernel unless `t` is 2-D; returns [rows, cols]. */
export function dims2(kernel: string, name: string, t: Tensor<DType>): [number, number] {
  if (t.shape.length !== 2) {
    throw new ShapeError(`${kernel}: ${name} must be 2-D, got shape ${fmtShape(t.shape)}`);
  }
  return [t.shape[0], t.shape[1]];
}

/** Throws `ShapeError` unless `t` has exactly `shape`. */
export function expectShape(kernel: string, name: string, t: Tensor<DType>, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${kernel}: ${name} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
  }
}

/** Throws `ShapeError` unless `t` has element type `dtype`. */
export function expectDType(kernel: string, name: string, t: Tensor<DType>, dtype: DType): void {
  if (t.dtype !== dtype) throw new ShapeError(`${kernel}: ${name} must be ${dtype}, got ${t.dtype}`);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits `rows` rows into chunks whose byte span stays under the binding limit for every row width in
 * `rowBytes` (one per row-split binding), with chunk offsets aligned to the storage offset alignment.
 * One chunk when everything fits.
 */
export function rowChunks(
  gpu: Gpu,
  rows: number,
  rowBytes: readonly number[],
): [start: number, count: number][] {
  const widest = Math.max(4, ...rowBytes);
  if (rows * widest <= gpu.maxBindingBytes) return [[0, rows]];
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  let step = 1;
  for (const rb of rowBytes) {
    const s = align / gcd(Math.max(rb, 1), align);
    step = (step * s) / gcd(step, s);
  }
  const fit = Math.floor(gpu.maxBindingBytes / widest / step) * step;
  if (fit < 1) throw new ShapeError(`a single row of ${widest} bytes exceeds the binding limit`);
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += fit) out.push([r, Math.min(fit, rows - r)]);
  return out;
}

/** The slice of rows [start, start + count) of a row-major tensor with `rowBytes` bytes per row. */
export function rowSlice(t: Tensor<DType>, start: number, count: number, rowBytes: number): Slice {
  return { tensor: t, offset: start * rowBytes, bytes: count * rowBytes };
}

/**
 * Workgroup grid for `groups` workgroups of a 1-D kernel, folded into (x, y) when over the per-dimension
 * limit. Kernels compute the linear workgroup as wg.y · num_workgroups.x + wg.x and bounds-check.
 */
export function grid1d(gpu: Gpu, groups: number): [number, number] {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
