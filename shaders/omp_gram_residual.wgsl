// omp_gram_residual — the correlations of every candidate with the new residual, in Gram space:
// p = G r = G (b − G_Sᵀc) = p⁰ − K_{:,S} c, from the stored Gram columns (one per slot) and the current
// coefficients. O(n · slots) per iteration, no pass over the features.
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per row i (2-D folded grid), walking its row of kcols. Skipped once stopped.

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
@group(0) @binding(1) var<storage, read> p0: array<f32>;            // (n)
@group(0) @binding(2) var<storage, read> kcols: array<f32>;         // (n, cap)
@group(0) @binding(3) var<storage, read> coef: array<f32>;          // (cap)
@group(0) @binding(4) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(5) var<storage, read_write> corr: array<f32>;    // (n) p

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.n || ctl[0] != 0u) { return; }
  var acc = p0[i];
  for (var s = 0u; s <= p.slot; s++) { acc -= kcols[i * p.cap + s] * coef[s]; }
  corr[i] = acc;
}
