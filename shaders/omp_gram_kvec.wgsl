// omp_gram_kvec — gathers the new atom's Gram entries with the active set from the column just
// computed: kvec[s] = kcols[sel[s], slot] = ⟨g_{sel[s]}, gⱼ⟩ for slots s < slot (0 for empty slots),
// and kvec[slot] = ⟨gⱼ, gⱼ⟩.
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per slot s ≤ slot.

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
@group(0) @binding(1) var<storage, read> kcols: array<f32>;          // (n, cap)
@group(0) @binding(2) var<storage, read> pick: array<u32>;           // (2)
@group(0) @binding(3) var<storage, read> ctl: array<u32>;            // (8)
@group(0) @binding(4) var<storage, read> sel: array<u32>;            // (cap)
@group(0) @binding(5) var<storage, read_write> kvec: array<f32>;     // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = gid.x;
  let j = pick[0];
  if (s > p.slot || ctl[0] != 0u || j == NONE) { return; }
  var row = j;
  if (s < p.slot) { row = sel[s]; }
  if (row == NONE) { kvec[s] = 0.0; return; }
  kvec[s] = kcols[row * p.cap + p.slot];
}
