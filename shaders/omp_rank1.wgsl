// omp_rank1 — completes adding atom j: A'⁻¹ = [[A⁻¹ + wwᵀ/s, −w/s], [−wᵀ/s, 1/s]] over slots ≤ slot,
// with w and s from omp_append / omp_schur, and stores the new row and column of K_SS (from kvec) for
// the iterative refinement of the coefficients. Runs only when the atom was accepted (ctl[3]).
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per entry (a, b) of the (slot + 1)² block (2-D folded grid); each thread writes
// only its own entry, reading w and s.

override WG: u32 = 256u;

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
@group(0) @binding(1) var<storage, read> w: array<f32>;             // (cap)
@group(0) @binding(2) var<storage, read> scal: array<f32>;          // (4): [0] s
@group(0) @binding(3) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(4) var<storage, read> kvec: array<f32>;          // (cap)
@group(0) @binding(5) var<storage, read_write> ainv: array<f32>;    // (cap, cap)
@group(0) @binding(6) var<storage, read_write> kss: array<f32>;     // (cap, cap) K_SS (no λ)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let side = p.slot + 1u;
  let e = (wg.y * nwg.x + wg.x) * WG + li;
  if (e >= side * side || ctl[3] == 0u) { return; }
  let a = e / side;
  let b = e % side;
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
