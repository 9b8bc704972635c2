// omp_factored_corr — the hybrid OMP's correlation pass for factored last-layer gradients
// (src/selection/omp_hybrid.ts): corr[i] = ⟨gᵢ, r⟩ with gᵢ = [eᵢ ⊗ hᵢ, bias·eᵢ] and an explicit
// residual r formed on the CPU in float64:
//   corr[i] = Σ_a e[i, a] · (Σ_b R[b, a] · h[i, b] + bias · R[D, a])
// gᵢ is never formed: a row reads C + D floats and does C·(D + 1) multiply-adds.
//
// Layouts: ht (D, NP) is h transposed with the rows padded by zeros to NP = 4·⌈n/4⌉, read as vec4s of 4
// consecutive rows; R (D + 1, CP) holds r class-minor, classes padded by zeros to CP = 4·⌈C/4⌉, the bias
// part in its last row.
//
// Mapping (after pairwise.wgsl): a workgroup is WG = 8 lanes, one AVX2 SIMD group on lavapipe; lane l
// owns the 4 rows 4·(8·w + l)..+3. For each group of 4 classes the lane keeps a 4 × 4 block of
// accumulators (rows × classes) and walks b: one vec4 load of ht (its 4 rows, contiguous across lanes),
// one uniform vec4 load of R (broadcast), 4 vec4 multiply-adds. Loads no longer bound the loop as they
// do in a one-row-per-lane walk. Workgroups past the grid limit are folded into a 2-D grid.
//
// Rounding: corr[i] sums C·(D + 1) f32 products with at most C + D + 2 sequential additions per term,
// so |corr[i] − ⟨gᵢ, r̃⟩| ≤ γ_{C+D+2}·Σ|terms| ≤ γ_{C+D+2}·‖gᵢ‖·‖r̃‖, r̃ = f32(r).

override WG: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e: array<f32>;             // (n, C)
@group(0) @binding(2) var<storage, read> ht: array<vec4<f32>>;      // (D, NP / 4)
@group(0) @binding(3) var<storage, read> rt: array<vec4<f32>>;      // (D + 1, CP / 4)
@group(0) @binding(4) var<storage, read_write> corr: array<f32>;    // (n)

// e[i, a] or 0 past the row's classes or the rows.
fn ev(i: u32, a: u32) -> f32 {
  if (i >= p.n || a >= p.d) { return 0.0; }
  return e[i * p.d + a];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let quad = (wg.y * nwg.x + wg.x) * WG + li;  // rows 4·quad .. 4·quad + 3
  let quads = (p.n + 3u) / 4u;
  if (quad >= quads) { return; }
  let q = (p.d + 3u) / 4u;
  let i = 4u * quad;
  var total = vec4<f32>(0.0);  // one entry per row
  for (var a4 = 0u; a4 < q; a4++) {
    let bias = rt[p.dh * q + a4] * p.bias;
    var m0 = bias;  // row i:     classes 4·a4 .. 4·a4 + 3
    var m1 = bias;  // row i + 1
    var m2 = bias;
    var m3 = bias;
    for (var b = 0u; b < p.dh; b++) {
      let r = rt[b * q + a4];
      let hv = ht[b * quads + quad];
      m0 += r * hv.x;
      m1 += r * hv.y;
      m2 += r * hv.z;
      m3 += r * hv.w;
    }
    let a = 4u * a4;
    total.x += dot(m0, vec4<f32>(ev(i, a), ev(i, a + 1u), ev(i, a + 2u), ev(i, a + 3u)));
    total.y += dot(m1, vec4<f32>(ev(i + 1u, a), ev(i + 1u, a + 1u), ev(i + 1u, a + 2u), ev(i + 1u, a + 3u)));
    total.z += dot(m2, vec4<f32>(ev(i + 2u, a), ev(i + 2u, a + 1u), ev(i + 2u, a + 2u), ev(i + 2u, a + 3u)));
    total.w += dot(m3, vec4<f32>(ev(i + 3u, a), ev(i + 3u, a + 1u), ev(i + 3u, a + 2u), ev(i + 3u, a + 3u)));
  }
  corr[i] = total.x;
  if (i + 1u < p.n) { corr[i + 1u] = total.y; }
  if (i + 2u < p.n) { corr[i + 2u] = total.z; }
  if (i + 3u < p.n) { corr[i + 3u] = total.w; }
}
