// reduce_rows — one number per row of x (n, c):
//   sum         out[i] = Σ_j x[i, j]
//   sq_norm     out[i] = Σ_j x[i, j]²   (‖x_i‖², e.g. for the pruning bound |⟨g_i, r⟩| ≤ ‖g_i‖·‖r‖)
//   max_argmax  out[i] = max_j x[i, j], arg[i] = the lowest j attaining it (c ≥ 1)
//
// Shapes: x (n, c) f32 row-major; out (n) f32; arg (n) u32. c = 0 gives sums of 0.
//
// Mapping: one workgroup of WG threads per row (WG a power of two chosen by the wrapper from c). Thread
// t walks columns t, t + WG, …, so a thread's columns rise, and then the workgroup tree-reduces the
// partials. The grid is folded into (x, y): row = wg.x + wg.y · num_workgroups.x, and workgroups past
// the last row leave before any barrier (a test on uniform values only).
// Ties in max_argmax go to the lower index at every step, so the result is the first maximum. NaN
// entries give unspecified results: WGSL lets implementations assume floats are never NaN.

override WG: u32 = 256u;  // threads per row: a power of two ≤ 256

struct Params {
  n: u32,  // rows
  c: u32,  // columns
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n, c)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (n): sum, squared norm or max
@group(0) @binding(3) var<storage, read_write> arg: array<u32>;  // (n): argmax, max_argmax only

// red and reduce_sum: row_reductions.wgsl (prepended by the wrapper).
var<workgroup> redi: array<u32, WG>;  // (WG): the column of each partial max

fn row_of(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(WG)
fn sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) t: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.n) { return; }
  var s = 0.0;
  for (var j = t; j < p.c; j += WG) { s += x[row * p.c + j]; }
  s = reduce_sum(s, t);
  if (t == 0u) { out[row] = s; }
}

@compute @workgroup_size(WG)
fn sq_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.n) { return; }
  var s = 0.0;
  for (var j = t; j < p.c; j += WG) {
    let v = x[row * p.c + j];
    s += v * v;
  }
  s = reduce_sum(s, t);
  if (t == 0u) { out[row] = s; }
}

@compute @workgroup_size(WG)
fn max_argmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) t: u32) {
  let row = row_of(wg, nwg);
  if (row >= p.n) { return; }
  let base = row * p.c;
  // Start from column 0, a real entry: the identity for threads that own no column.
  var best = x[base];
  var at = 0u;
  // Columns rise along a thread's walk, so a strict > keeps the first of equal values.
  for (var j = t; j < p.c; j += WG) {
    let v = x[base + j];
    if (v > best) { best = v; at = j; }
  }
  red[t] = best;
  redi[t] = at;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      let v = red[t + s];
      let i = redi[t + s];
      if (v > red[t] || (v == red[t] && i < redi[t])) { red[t] = v; redi[t] = i; }
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[row] = red[0];
    arg[row] = redi[0];
  }
}
