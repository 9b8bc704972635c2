/**
 * Workgroup size of the kernels that give each row one workgroup (softmax, cross_entropy, reduce_rows).
 * Their rows range from 10 classes to thousands of features, so the size follows the row length, as a
 * WGSL `override` constant: a handful of pipelines per kernel, never one per shape.
 */

/** Fewest threads given to a row: a 10-class row still fills a SIMD group on most GPUs. */
const MIN_ROW_THREADS = 32;
/** Most threads given to a row: WebGPU's default `maxComputeInvocationsPerWorkgroup`. */
const MAX_ROW_THREADS = 256;

/**
 * Threads per row for rows of `c` columns: the smallest power of two ≥ c, kept within [32, 256]. A power
 * of two because the kernels tree-reduce across the workgroup.
 */
export function rowThreads(c: number): number {
  let wg = MIN_ROW_THREADS;
  while (wg < c && wg < MAX_ROW_THREADS) wg *= 2;
  return wg;
}
