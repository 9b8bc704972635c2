// omp_direct_corr — for a dense gradient matrix g: the correlation of every candidate with the residual,
// p_i = ⟨g_i, r⟩. This is the O(n·d) pass that dominates dense OMP; it is skipped once stopped.
//
// OMP state shared by the omp_* kernels (see src/selection/omp_gpu.ts for the whole iteration):
//   ctl (8) u32: [0] stop, [1] active atoms, [2] slot to drop (0xFFFFFFFF: none), [3] accepted this
//                iteration, [4] iterations that ended with a negative coefficient left after repair
//   pick (2) u32: masked_argmax output (row j, bits of p_j), 0xFFFFFFFF when no candidate
//   sel (cap) u32: row held by each slot, 0xFFFFFFFF for an empty or dropped slot
//   ainv (cap, cap) f32: (K_SS + λI)⁻¹ over the slots; rows/columns of empty slots are 0
//
// Mapping: one thread per row i (2-D folded grid), reading its row in vec4 steps when d is a multiple of
// 4 (VEC4), which lavapipe turns into wide loads; r is shared by all threads and stays in cache.

override WG: u32 = 256u;
override VEC4: bool = false;

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
@group(0) @binding(2) var<storage, read> r: array<f32>;             // (d)
@group(0) @binding(3) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(4) var<storage, read_write> corr: array<f32>;    // (n) p

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.n || ctl[0] != 0u) { return; }
  var acc = 0.0;
  if (VEC4) {
    var acc4 = vec4<f32>(0.0);
    for (var c = 0u; c < p.d; c += 4u) {
      let o = i * p.d + c;
      acc4 += vec4<f32>(g[o], g[o + 1u], g[o + 2u], g[o + 3u]) * vec4<f32>(r[c], r[c + 1u], r[c + 2u], r[c + 3u]);
    }
    acc = acc4.x + acc4.y + acc4.z + acc4.w;
  } else {
    for (var c = 0u; c < p.d; c++) { acc += g[i * p.d + c] * r[c]; }
  }
  corr[i] = acc;
}
