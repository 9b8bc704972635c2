// omp_gram_residual — the correlations of every candidate with the new residual, in Gram space:
// p = G r = G (b − G_Sᵀc) = p⁰ − K_{:,S} c, from the stored Gram columns (one per slot) and the current
// coefficients. O(n · slots) per iteration, no pass over the features.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per row i (2-D folded grid), walking its row of kcols. Skipped once stopped.

override WG: u32 = 256u;

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
