// omp_downdate — removes the slot q = ctl[2] chosen by omp_repair_pick from the active set. Removing
// row and column q from A leaves the inverse B − u uᵀ/u_q, where u is column q of A⁻¹ (copied into w,
// u_q its diagonal entry) and B is A⁻¹ without row and column q; row and column q become 0, the slot
// empty. The dropped row stays masked, so it is never picked again (this guarantees termination).
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per entry (a, b) of the (slot + 1)² block (2-D folded); the thread of (q, q) also
// updates sel and the active count.

override WG: u32 = 256u;
const NONE: u32 = 0xFFFFFFFFu;

struct Params {
  n: u32,       // candidate rows
  d: u32,       // columns of g (dense) or of e (factored: C)
  dh: u32,      // columns of h (factored: D; unused for dense)
  cap: u32,     // slot capacity: row stride of ainv and kcols
  slot: u32,    // slot of this iteration (= iterations so far)
  k: u32,       // most atoms allowed in the active set
  lambda: f32,  // ridge regularisation λ
  bias: f32,    // factored: 1 adds the bias part (hᵢ·hⱼ + 1), 0 weight part only
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;             // (cap) column q of A⁻¹
@group(0) @binding(2) var<storage, read_write> ctl: array<u32>;     // (8)
@group(0) @binding(3) var<storage, read_write> sel: array<u32>;     // (cap)
@group(0) @binding(4) var<storage, read_write> ainv: array<f32>;    // (cap, cap)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let side = p.slot + 1u;
  let e = (wg.y * nwg.x + wg.x) * WG + li;
  let q = ctl[2];
  if (e >= side * side || q == NONE) { return; }
  let a = e / side;
  let b = e % side;
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
