// softmax — row softmax: y[i, j] = exp(x[i, j] − m_i) / Σ_k exp(x[i, k] − m_i), m_i = max_k x[i, k].
//
// Subtracting the row max keeps every exponent ≤ 0, so exp never overflows, and the largest term is
// exactly 1, so the sum is ≥ 1 and 1 / sum never overflows.
//
// Shapes (row-major f32): x and y are (n, c), c ≥ 1.
//
// Mapping: one workgroup of WG threads per row (WG a power of two, chosen by the wrapper from c). Thread
// t walks columns t, t + WG, …; the row max and the row sum are tree-reduced in workgroup memory. Rows
// may outnumber the 65535 workgroups one dimension allows, so the grid is folded into (x, y) and the
// row is wg.x + wg.y · num_workgroups.x; workgroups past the last row leave before any barrier (the
// test depends only on uniform values, so the barriers stay in uniform control flow).

override WG: u32 = 256u;  // threads per row: a power of two ≤ 256

struct Params {
  n: u32,  // rows
  c: u32,  // columns
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // (n, c)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // (n, c)

// red, reduce_max and reduce_sum: row_reductions.wgsl (prepended).

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.n) { return; }
  let base = row * p.c;
  var m = x[base];  // a real entry of the row: the identity for threads that own no column
  for (var j = t; j < p.c; j += WG) { m = max(m, x[base + j]); }
  m = reduce_max(m, t);
  var s = 0.0;
  for (var j = t; j < p.c; j += WG) { s += exp(x[base + j] - m); }
  let inv = 1.0 / reduce_sum(s, t);
  for (var j = t; j < p.c; j += WG) { y[base + j] = exp(x[base + j] - m) * inv; }
}
