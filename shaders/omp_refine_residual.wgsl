// omp_refine_residual — one step of iterative refinement of the coefficients, first half: the residual
// of the normal equations res = q − (K_SS + λI) c over the active slots (0 for empty ones). The inverse
// A⁻¹ is kept in f32 through hundreds of rank-1 updates and loses digits; one refinement step
// c ← c + A⁻¹ res restores the coefficients to nearly the precision of the Gram entries.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per slot a ≤ slot.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> kss: array<f32>;           // (cap, cap)
@group(0) @binding(2) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(3) var<storage, read> p0: array<f32>;            // (n)
@group(0) @binding(4) var<storage, read> coef: array<f32>;          // (cap)
@group(0) @binding(5) var<storage, read_write> res: array<f32>;     // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a = gid.x;
  if (a > p.slot) { return; }
  let row = sel[a];
  if (row == NONE) {
    res[a] = 0.0;
    return;
  }
  var acc = p0[row] - p.lambda * coef[a];
  for (var b = 0u; b <= p.slot; b++) {
    if (sel[b] != NONE) { acc -= kss[a * p.cap + b] * coef[b]; }
  }
  res[a] = acc;
}
