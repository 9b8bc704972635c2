// factor_gram_combine — the last step of factor_gram's "products" path (src/gpu/ops/factor_gram.ts), for
// GPUs: with EE = e1·e2ᵀ already in `out` and HH = h1·h2ᵀ from the tiled matmul,
//   out[i, j] = EE[i, j] · (HH[i, j] + β)                              = ⟨g1ᵢ, g2ⱼ⟩
// and with COSINE, divided by ‖g1ᵢ‖ ‖g2ⱼ‖, where ‖gᵢ‖² = ‖eᵢ‖² (‖hᵢ‖² + β) from the rows' squared norms
// (0 where either gradient is 0, as in factor_gram.wgsl). One invocation per entry; 2-D grid folded as
// grid1d does (linear workgroup = wg.y · num_workgroups.x + wg.x).

override WG: u32 = 64u;
override COSINE: bool = false;

struct Params {
  m: u32,     // rows (set 1)
  n: u32,     // columns (set 2)
  bias: f32,  // β
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // (m, n): EE in, G out
@group(0) @binding(2) var<storage, read> hh: array<f32>;         // (m, n)
@group(0) @binding(3) var<storage, read> en1: array<f32>;        // (m) ‖e1ᵢ‖²
@group(0) @binding(4) var<storage, read> hn1: array<f32>;        // (m) ‖h1ᵢ‖²
@group(0) @binding(5) var<storage, read> en2: array<f32>;        // (n) ‖e2ⱼ‖²
@group(0) @binding(6) var<storage, read> hn2: array<f32>;        // (n) ‖h2ⱼ‖²

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let at = (wg.y * nwg.x + wg.x) * WG + li;
  if (at >= p.m * p.n) { return; }
  var g = out[at] * (hh[at] + p.bias);
  if (COSINE) {
    let i = at / p.n;
    let j = at - i * p.n;
    let q = en1[i] * (hn1[i] + p.bias) * en2[j] * (hn2[j] + p.bias);
    g = select(0.0, g / sqrt(q), q > 0.0);
  }
  out[at] = g;
}
