// omp_downdate — removes the slot q = ctl[2] chosen by omp_repair_pick from the active set. Removing
// row and column q from A leaves the inverse B − u uᵀ/u_q, where u is column q of A⁻¹ (copied into w,
// u_q its diagonal entry) and B is A⁻¹ without row and column q; row and column q become 0, the slot
// empty. The dropped row stays masked, so it is never picked again (this guarantees termination).
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: workgroup row wg.y is row a of the (slot + 1)² block, and thread b = wg.x · WG + local index
// its column; the thread of (q, q) also updates sel and the active count. Dispatched indirectly with the
// grid omp_repair_pick wrote: an empty grid when nothing is dropped.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;             // (cap) column q of A⁻¹
@group(0) @binding(2) var<storage, read_write> ctl: array<u32>;     // (8)
@group(0) @binding(3) var<storage, read_write> sel: array<u32>;     // (cap)
@group(0) @binding(4) var<storage, read_write> ainv: array<f32>;    // (cap, cap)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let side = p.slot + 1u;
  let a = wg.y;
  let b = wg.x * WG + li;
  let q = ctl[2];
  if (a >= side || b >= side || q == NONE) { return; }
  if (a == q || b == q) {
    ainv[a * p.cap + b] = 0.0;
    if (a == q && b == q) {
      sel[q] = NONE;
      ctl[1] -= 1u;
    }
    return;
  }
  ainv[a * p.cap + b] -= w[a] * w[b] / w[q];
}
