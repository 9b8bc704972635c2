// omp_gram_column — one column of the Gram matrix of factored last-layer gradients, for the atom j
// just picked: kcols[i, slot] = ⟨gᵢ, gⱼ⟩ = (eᵢ·eⱼ)(hᵢ·hⱼ + bias) for every candidate row i. This is
// Batch-OMP's only pass over the data per iteration: O(n·(C + D)) instead of the O(n·C·D) of
// correlating every gᵢ with an explicit residual.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per row i (2-D folded grid); it reads row j of e and h (shared by all threads,
// cache-resident) and its own rows. No-op when the run has stopped or no atom was picked.

override WG: u32 = 256u;

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
