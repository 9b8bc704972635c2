// omp_solve — the ridge coefficients of the active set: c = A⁻¹ q with q_b = p⁰[sel[b]] = ⟨g_{sel[b]}, b⟩
// (the target's correlations), i.e. c = argmin ‖G_Sᵀc − b‖² + λ‖c‖². Empty slots get 0 (their rows of
// A⁻¹ are 0).
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per slot a ≤ slot.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ainv: array<f32>;          // (cap, cap)
@group(0) @binding(2) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(3) var<storage, read> p0: array<f32>;            // (n) correlations with the target
@group(0) @binding(4) var<storage, read_write> coef: array<f32>;    // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let a = gid.x;
  if (a > p.slot) { return; }
  var acc = 0.0;
  for (var b = 0u; b <= p.slot; b++) {
    let row = sel[b];
    if (row != NONE) { acc += ainv[a * p.cap + b] * p0[row]; }
  }
  coef[a] = acc;
}
