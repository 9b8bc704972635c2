// omp_append — first half of adding atom j to the inverse of the regularised Gram matrix
// A = K_SS + λI of the active set: w = A⁻¹ k with k = kvec[0..slot) the new atom's Gram entries.
// (Block inverse: for A' = [[A, k], [kᵀ, κ]], with s = κ − kᵀw, A'⁻¹ = [[A⁻¹ + wwᵀ/s, −w/s], [−wᵀ/s, 1/s]].
// We keep A⁻¹ rather than a Cholesky factor because every step of this update is a parallel
// matrix–vector or rank-1 operation, while triangular solves are sequential in the slot count.)
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per slot a < slot computes one entry of w; empty slots give 0.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ainv: array<f32>;          // (cap, cap)
@group(0) @binding(2) var<storage, read> kvec: array<f32>;          // (cap)
@group(0) @binding(3) var<storage, read> pick: array<u32>;          // (2)
@group(0) @binding(4) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(5) var<storage, read_write> w: array<f32>;       // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a = gid.x;
  if (a >= p.slot || ctl[0] != 0u || pick[0] == NONE) { return; }
  var acc = 0.0;
  for (var b = 0u; b < p.slot; b++) { acc += ainv[a * p.cap + b] * kvec[b]; }
  w[a] = acc;
}
