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
// owns the 8 rows 8·(8·w + l)..+7 (two vec4s of ht). For each group of 4 classes the lane keeps an 8 × 4
// block of accumulators (rows × classes) and walks b: two vec4 loads of ht (contiguous across lanes), one
// uniform vec4 load of R (broadcast), 8 vec4 multiply-adds. Loads no longer bound the loop as they do in a
// one-row-per-lane walk (that version ran 2–3× slower, 4 rows per lane ~1.5–2× slower). Workgroups past
// the grid limit are folded into a 2-D grid.
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
  let oct = (wg.y * nwg.x + wg.x) * WG + li;  // rows 8·oct .. 8·oct + 7 (quads 2·oct, 2·oct + 1)
  let quads = (p.n + 3u) / 4u;
  if (2u * oct >= quads) { return; }
  let second = 2u * oct + 1u < quads;  // the second quad holds rows
  let q2 = select(2u * oct, 2u * oct + 1u, second);
  let q = (p.d + 3u) / 4u;
  let i = 8u * oct;
  var lo = vec4<f32>(0.0);  // rows i .. i + 3
  var hi = vec4<f32>(0.0);  // rows i + 4 .. i + 7
  for (var a4 = 0u; a4 < q; a4++) {
    let bias = rt[p.dh * q + a4] * p.bias;
    var m0 = bias;
    var m1 = bias;
    var m2 = bias;
    var m3 = bias;
    var m4 = bias;
    var m5 = bias;
    var m6 = bias;
    var m7 = bias;
    for (var b = 0u; b < p.dh; b++) {
      let r = rt[b * q + a4];
      let h0 = ht[b * quads + 2u * oct];
      let h1 = ht[b * quads + q2];
      m0 += r * h0.x;
      m1 += r * h0.y;
      m2 += r * h0.z;
      m3 += r * h0.w;
      m4 += r * h1.x;
      m5 += r * h1.y;
      m6 += r * h1.z;
      m7 += r * h1.w;
    }
    let a = 4u * a4;
    lo.x += dot(m0, erow(i, a));
    lo.y += dot(m1, erow(i + 1u, a));
    lo.z += dot(m2, erow(i + 2u, a));
    lo.w += dot(m3, erow(i + 3u, a));
    hi.x += dot(m4, erow(i + 4u, a));
    hi.y += dot(m5, erow(i + 5u, a));
    hi.z += dot(m6, erow(i + 6u, a));
    hi.w += dot(m7, erow(i + 7u, a));
  }
  for (var k = 0u; k < 4u; k++) {
    if (i + k < p.n) { corr[i + k] = lo[k]; }
    if (second && i + 4u + k < p.n) { corr[i + 4u + k] = hi[k]; }
  }
}

// e[i, a .. a + 3], zeros past the row's classes or the rows.
fn erow(i: u32, a: u32) -> vec4<f32> {
  return vec4<f32>(ev(i, a), ev(i, a + 1u), ev(i, a + 2u), ev(i, a + 3u));
}
