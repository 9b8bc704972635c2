// count_below — per-row count of the entries of a block strictly below a threshold:
//   counts[i] = #{ j : a[i, j] < t }          (+ counts[i] when p.accumulate = 1)
// NFG's neighbour count, #{ j : dᵢⱼ < r }, summed over column blocks with `accumulate`. With EXCLUDE_DIAG the
// block sits at row offset r0 and column offset c0 of a square matrix and its diagonal entries
// (r0 + i == c0 + j) are skipped: a sample never counts itself. NaN entries never count (NaN < t is false).
//
// Mapping: one workgroup of 64 threads per row; thread l scans columns l, l + 64, … (contiguous across the
// threads), then adds its count to a workgroup atomic, and thread 0 writes the row's total. Rows past the
// dispatch grid (maxComputeWorkgroupsPerDimension) are walked by a grid-stride loop.

const WGS: u32 = 64u;  // threads per row

override EXCLUDE_DIAG: bool = false;

struct Params {
  n: u32,           // rows of the block
  m: u32,           // columns of the block
  threshold: f32,   // t: entries strictly below it count
  r0: u32,          // row offset of the block in the square matrix (EXCLUDE_DIAG)
  c0: u32,          // column offset of the block (EXCLUDE_DIAG)
  accumulate: u32,  // 1: add to counts; 0: overwrite (counts is never read)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;             // (n, m)
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;  // (n)

var<workgroup> total: atomic<u32>;

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  for (var i = wg.x; i < p.n; i += nwg.x) {
    if (li == 0u) { atomicStore(&total, 0u); }
    workgroupBarrier();
    var k = 0u;
    for (var j = li; j < p.m; j += WGS) {
      let below = a[i * p.m + j] < p.threshold;
      let diagonal = EXCLUDE_DIAG && p.r0 + i == p.c0 + j;
      k += u32(below && !diagonal);
    }
    atomicAdd(&total, k);
    workgroupBarrier();
    if (li == 0u) {
      let prev = select(0u, counts[i], p.accumulate == 1u);
      counts[i] = prev + atomicLoad(&total);
    }
  }
}
