// omp_direct_residual — for a dense gradient matrix g: the residual r = b − Σ_s c_s g_{sel[s]} over the
// active slots, b = Σᵢ gᵢ the target. O(slots · d) per iteration.
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per column c of g. Skipped once stopped.

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
@group(0) @binding(1) var<storage, read> g: array<f32>;             // (n, d)
@group(0) @binding(2) var<storage, read> goal: array<f32>;          // (d) b
@group(0) @binding(3) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(4) var<storage, read> coef: array<f32>;          // (cap)
@group(0) @binding(5) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(6) var<storage, read_write> r: array<f32>;       // (d)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.d || ctl[0] != 0u) { return; }
  var acc = goal[c];
  for (var s = 0u; s <= p.slot; s++) {
    let row = sel[s];
    if (row != NONE) { acc -= coef[s] * g[row * p.d + c]; }
  }
  r[c] = acc;
}
