// omp_rank1 — completes adding atom j: A'⁻¹ = [[A⁻¹ + wwᵀ/s, −w/s], [−wᵀ/s, 1/s]] over slots ≤ slot,
// with w and s from omp_append / omp_schur, and stores the new row and column of K_SS (from kvec) for
// the iterative refinement of the coefficients. Runs only when the atom was accepted (ctl[3]).
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: workgroup row wg.y is row a of the (slot + 1)² block, and thread b = wg.x · WG + local index
// its column (no division per element); each thread writes only its own entry, reading w and s.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;             // (cap)
@group(0) @binding(2) var<storage, read> scal: array<f32>;          // (4): [0] s
@group(0) @binding(3) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(4) var<storage, read> kvec: array<f32>;          // (cap)
@group(0) @binding(5) var<storage, read_write> ainv: array<f32>;    // (cap, cap)
@group(0) @binding(6) var<storage, read_write> kss: array<f32>;     // (cap, cap) K_SS (no λ)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let side = p.slot + 1u;
  let a = wg.y;
  let b = wg.x * WG + li;
  if (a >= side || b >= side || ctl[3] == 0u) { return; }
  let inv_s = 1.0 / scal[0];
  var v: f32;
  if (a < p.slot && b < p.slot) {
    v = ainv[a * p.cap + b] + w[a] * w[b] * inv_s;
  } else if (a == p.slot && b == p.slot) {
    v = inv_s;
  } else {
    v = -w[min(a, b)] * inv_s;
  }
  ainv[a * p.cap + b] = v;
  if (a == p.slot) { kss[a * p.cap + b] = kvec[b]; }
  if (b == p.slot) { kss[a * p.cap + b] = kvec[a]; }
}
