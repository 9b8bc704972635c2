// omp_direct_residual — for a dense gradient matrix g: the residual r = b − Σ_s c_s g_{sel[s]} over the
// active slots, b = Σᵢ gᵢ the target. O(slots · d) per iteration.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per column c of g. Skipped once stopped.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;             // (n, d)
@group(0) @binding(2) var<storage, read> goal: array<f32>;          // (d) b
@group(0) @binding(3) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(4) var<storage, read> coef: array<f32>;          // (cap)
@group(0) @binding(5) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(6) var<storage, read_write> r: array<f32>;       // (d)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.d || ctl[0] != 0u) { return; }
  var acc = goal[c];
  for (var s = 0u; s <= p.slot; s++) {
    let row = sel[s];
    if (row != NONE) { acc -= coef[s] * g[row * p.d + c]; }
  }
  r[c] = acc;
}
