// omp_schur — second half of adding atom j: the Schur complement s = κ + λ − kᵀw of the new row, and
// the decision. The atom joins slot `slot` when s is safely positive (s > 1e-6·(κ + λ); otherwise it is
// numerically a combination of the active atoms and is skipped, masked, never retried). Stops the run
// when no candidate was picked or the active set is full.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: a single workgroup; WG threads stride over the slots and tree-reduce kᵀw, then thread 0
// updates the state: sel, mask, ctl, scal[0] = s.

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pick: array<u32>;          // (2)
@group(0) @binding(2) var<storage, read> kvec: array<f32>;          // (cap)
@group(0) @binding(3) var<storage, read> w: array<f32>;             // (cap)
@group(0) @binding(4) var<storage, read_write> ctl: array<u32>;     // (8)
@group(0) @binding(5) var<storage, read_write> sel: array<u32>;     // (cap)
@group(0) @binding(6) var<storage, read_write> mask: array<u32>;    // (n) 1: chosen, dropped or skipped
@group(0) @binding(7) var<storage, read_write> scal: array<f32>;    // (4): [0] s

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
  let j = pick[0];
  let live = ctl[0] == 0u && j != NONE;
  var acc = 0.0;
  if (live) {
    for (var a = t; a < p.slot; a += WG) { acc += kvec[a] * w[a]; }
  }
  part[t] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { part[t] += part[t + half]; }
    workgroupBarrier();
  }
  if (t != 0u) { return; }
  ctl[3] = 0u;
  if (ctl[0] != 0u) { return; }
  if (j == NONE || ctl[1] >= p.k) {
    ctl[0] = 1u;
    return;
  }
  mask[j] = 1u;
  let kappa = kvec[p.slot] + p.lambda;
  let s = kappa - part[0];
  if (s > 1e-6 * kappa) {
    sel[p.slot] = j;
    ctl[1] += 1u;
    ctl[3] = 1u;
    scal[0] = s;
  }
}
