// omp_append — first half of adding atom j to the inverse of the regularised Gram matrix
// A = K_SS + λI of the active set: w = A⁻¹ k with k = kvec[0..slot) the new atom's Gram entries.
// (Block inverse: for A' = [[A, k], [kᵀ, κ]], with s = κ − kᵀw, A'⁻¹ = [[A⁻¹ + wwᵀ/s, −w/s], [−wᵀ/s, 1/s]].
// We keep A⁻¹ rather than a Cholesky factor because every step of this update is a parallel
// matrix–vector or rank-1 operation, while triangular solves are sequential in the slot count.)
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per slot a < slot computes one entry of w; empty slots give 0.

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
