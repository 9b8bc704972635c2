// omp_refine_apply — second half of a refinement step: c ← c + A⁻¹ res (see omp_refine_residual).
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per slot a ≤ slot; empty slots stay 0 (their rows of A⁻¹ are 0).

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ainv: array<f32>;          // (cap, cap)
@group(0) @binding(2) var<storage, read> res: array<f32>;           // (cap)
@group(0) @binding(3) var<storage, read_write> coef: array<f32>;    // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a = gid.x;
  if (a > p.slot) { return; }
  var acc = 0.0;
  for (var b = 0u; b <= p.slot; b++) { acc += ainv[a * p.cap + b] * res[b]; }
  coef[a] += acc;
}
