// factor_gram — a block of the Gram matrix of per-sample last-layer gradients, without forming them.
// For softmax cross-entropy with logits z = W h + b, gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (algorithms.md), so
//   G[i, j] = ⟨g1ᵢ, g2ⱼ⟩ = ⟨e1ᵢ, e2ⱼ⟩ · (⟨h1ᵢ, h2ⱼ⟩ + β)
// with β = p.bias = 1 for the full layer and 0 for the weight part only (NFG). That is C + D terms per
// entry instead of C·(D + 1). With COSINE, G[i, j] / (‖g1ᵢ‖ ‖g2ⱼ‖), where ‖gᵢ‖² = ‖eᵢ‖² (‖hᵢ‖² + β):
// for β = 0 it is cos(e1ᵢ, e2ⱼ) · cos(h1ᵢ, h2ⱼ), NFG's similarity; 0 where either gradient is 0. The norms
// are summed in the same loops, from the loads the products already make.
//
// Mapping (as in pairwise.wgsl, whose header says why there is no workgroup-memory staging on lavapipe):
// a workgroup of WG lanes computes a tile of 16 rows × 8·WG columns; the rows are shared by the lanes, so
// their loads are uniform; lane l owns columns l + WG·v (v < 8). `block` accumulates the lane's 16 × 8
// inner products, once over the C entries of e, once over the D entries of h; the store combines them.
// Tiles past the dispatch grid are walked by grid-stride loops. Rows and columns past the block's end
// load its last row and are never stored.

// TM, CL, WG and the entry point `main`: register_tiles.wgsl, prepended by the wrapper.

override COSINE: bool = false; // divide by ‖g1ᵢ‖ ‖g2ⱼ‖

struct Params {
  m: u32,     // rows of the block (of e1, h1 and G)
  n: u32,     // columns of the block (rows of e2, h2)
  c: u32,     // classes: entries of e
  d: u32,     // features: entries of h
  bias: f32,  // β: 1 when gᵢ includes the bias part eᵢ, 0 for the weight part only
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e1: array<f32>;        // (m, c)
@group(0) @binding(2) var<storage, read> h1: array<f32>;        // (m, d)
@group(0) @binding(3) var<storage, read> e2: array<f32>;        // (n, c)
@group(0) @binding(4) var<storage, read> h2: array<f32>;        // (n, d)
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // (m, n)

// A lane's 16 × 8 inner products over one factor (e or h), with squared norms when COSINE.
struct Block {
  s: array<mat4x4<f32>, 8>,  // s[2R + H][r]: row 4R + r against the lane's columns WG·(4H..4H+3)
  rn: array<vec4<f32>, 4>,   // squared norms of the 16 rows
  cn: array<vec4<f32>, 2>,   // squared norms of the lane's 8 columns
}

// The lane's 16 × 8 entries of G at rows row0.., columns col0 + WG·v.
fn tile(row0: u32, col0: u32) {
  let e = block(true, row0, col0);
  let h = block(false, row0, col0);
  // Constant indices only: with a dynamic index into a Block, lavapipe built this pipeline 3× slower.
  let ecn = e.cn;
  let hcn = h.cn;
  store_rows(row0, col0, e.s[0], e.s[1], h.s[0], h.s[1], e.rn[0], h.rn[0], ecn, hcn);
  store_rows(row0 + 4u, col0, e.s[2], e.s[3], h.s[2], h.s[3], e.rn[1], h.rn[1], ecn, hcn);
  store_rows(row0 + 8u, col0, e.s[4], e.s[5], h.s[4], h.s[5], e.rn[2], h.rn[2], ecn, hcn);
  store_rows(row0 + 12u, col0, e.s[6], e.s[7], h.s[6], h.s[7], e.rn[3], h.rn[3], ecn, hcn);
}

// Inner products of rows row0.. and the lane's columns col0 + WG·v over e (use_e) or h.
fn block(use_e: bool, row0: u32, col0: u32) -> Block {
  let k = select(p.d, p.c, use_e);
  let r0 = row_offsets(row0, k);
  let r1 = row_offsets(row0 + 4u, k);
  let r2 = row_offsets(row0 + 8u, k);
  let r3 = row_offsets(row0 + 12u, k);
  let c0 = col_offsets(col0, k);
  let c1 = col_offsets(col0 + 4u * WG, k);
  var b: Block;
  for (var t = 0u; t < k; t++) {
    let v0 = load2(use_e, c0, t);
    let v1 = load2(use_e, c1, t);
    let u0 = load1(use_e, r0, t);
    b.s[0] = rank1(b.s[0], u0, v0); b.s[1] = rank1(b.s[1], u0, v1);
    let u1 = load1(use_e, r1, t);
    b.s[2] = rank1(b.s[2], u1, v0); b.s[3] = rank1(b.s[3], u1, v1);
    let u2 = load1(use_e, r2, t);
    b.s[4] = rank1(b.s[4], u2, v0); b.s[5] = rank1(b.s[5], u2, v1);
    let u3 = load1(use_e, r3, t);
    b.s[6] = rank1(b.s[6], u3, v0); b.s[7] = rank1(b.s[7], u3, v1);
    if (COSINE) {
      b.rn[0] = fma(u0, u0, b.rn[0]); b.rn[1] = fma(u1, u1, b.rn[1]);
      b.rn[2] = fma(u2, u2, b.rn[2]); b.rn[3] = fma(u3, u3, b.rn[3]);
      b.cn[0] = fma(v0, v0, b.cn[0]); b.cn[1] = fma(v1, v1, b.cn[1]);
    }
  }
  return b;
}

// Element offsets of rows first..first+3 of e1 or h1 (k entries per row), clamped to the last row.
fn row_offsets(first: u32, k: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u)) * k;
}

// Element offsets of the lane's columns first + WG·v (v < 4) in e2 or h2, clamped to the last row.
fn col_offsets(first: u32, k: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) * WG, vec4<u32>(p.n - 1u)) * k;
}

// Entry t of four rows of e1 or h1 at element offsets base.
fn load1(use_e: bool, base: vec4<u32>, t: u32) -> vec4<f32> {
  if (use_e) { return vec4<f32>(e1[base.x + t], e1[base.y + t], e1[base.z + t], e1[base.w + t]); }
  return vec4<f32>(h1[base.x + t], h1[base.y + t], h1[base.z + t], h1[base.w + t]);
}

fn load2(use_e: bool, base: vec4<u32>, t: u32) -> vec4<f32> {
  if (use_e) { return vec4<f32>(e2[base.x + t], e2[base.y + t], e2[base.z + t], e2[base.w + t]); }
  return vec4<f32>(h2[base.x + t], h2[base.y + t], h2[base.z + t], h2[base.w + t]);
}

// acc[r] += a[r] · b: four rows against four columns.
fn rank1(acc: mat4x4<f32>, a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(vec4<f32>(a.x), b, acc[0]), fma(vec4<f32>(a.y), b, acc[1]),
                     fma(vec4<f32>(a.z), b, acc[2]), fma(vec4<f32>(a.w), b, acc[3]));
}

// Stores rows row0..row0+3: G = ⟨e⟩ (⟨h⟩ + β), normalised when COSINE. e0/h0 hold the lane's columns
// col0 + WG·(0..3), e1/h1 columns col0 + WG·(4..7); ern/hrn are the rows' squared norms, ecn/hcn the columns'.
fn store_rows(row0: u32, col0: u32, e0: mat4x4<f32>, e1: mat4x4<f32>, h0: mat4x4<f32>, h1: mat4x4<f32>,
              ern: vec4<f32>, hrn: vec4<f32>, ecn: array<vec4<f32>, 2>, hcn: array<vec4<f32>, 2>) {
  let rn = sqrt(ern) * sqrt(hrn + p.bias);           // ‖g1ᵢ‖ of the four rows
  let cn0 = sqrt(ecn[0]) * sqrt(hcn[0] + p.bias);    // ‖g2ⱼ‖ of the lane's columns
  let cn1 = sqrt(ecn[1]) * sqrt(hcn[1] + p.bias);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + r;
    if (i >= p.m) { return; }
    store4(i, col0, e0[r] * (h0[r] + p.bias), rn[r], cn0);
    store4(i, col0 + 4u * WG, e1[r] * (h1[r] + p.bias), rn[r], cn1);
  }
}

fn store4(i: u32, col0: u32, g: vec4<f32>, rn: f32, cn: vec4<f32>) {
  for (var c = 0u; c < 4u; c++) {
    let j = col0 + c * WG;
    if (j >= p.n) { return; }
    var v = g[c];
    if (COSINE) {
      let den = rn * cn[c];
      v = select(0.0, v / den, den > 0.0);
    }
    out[i * p.n + j] = v;
  }
}
