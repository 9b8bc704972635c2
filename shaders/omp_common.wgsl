// omp_common — shared by every omp_*.wgsl kernel and prepended to each by src/gpu/ops/omp.ts (WGSL has
// no include): the Params of one OMP iteration and the description of the state they share.
//
// OMP state shared by the omp_* kernels (src/selection/omp_gpu.ts runs the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0

const NONE: u32 = 0xFFFFFFFFu;  // "no row": an empty slot, or no candidate

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

