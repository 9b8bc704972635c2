// omp_gram_column — one column of the Gram matrix of factored last-layer gradients, for the atom j
// just picked: kcols[i, slot] = ⟨gᵢ, gⱼ⟩ = (eᵢ·eⱼ)(hᵢ·hⱼ + bias) for every candidate row i. This is
// Batch-OMP's only pass over the data per iteration: O(n·(C + D)) instead of the O(n·C·D) of
// correlating every gᵢ with an explicit residual.
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per row i (2-D folded grid); it reads row j of e and h (shared by all threads,
// cache-resident) and its own rows. No-op when the run has stopped or no atom was picked.

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
@group(0) @binding(1) var<storage, read> e: array<f32>;              // (n, d) errors softmax − onehot
@group(0) @binding(2) var<storage, read> h: array<f32>;              // (n, dh) embeddings
@group(0) @binding(3) var<storage, read> pick: array<u32>;           // (2)
@group(0) @binding(4) var<storage, read> ctl: array<u32>;            // (8)
@group(0) @binding(5) var<storage, read_write> kcols: array<f32>;    // (n, cap)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  let j = pick[0];
  if (i >= p.n || ctl[0] != 0u || j == NONE) { return; }
  var de = 0.0;
  for (var c = 0u; c < p.d; c++) { de += e[i * p.d + c] * e[j * p.d + c]; }
  var dh = 0.0;
  for (var c = 0u; c < p.dh; c++) { dh += h[i * p.dh + c] * h[j * p.dh + c]; }
  kcols[i * p.cap + p.slot] = de * (dh + p.bias);
}
