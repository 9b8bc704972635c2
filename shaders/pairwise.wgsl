// pairwise — one block of a pairwise matrix between two row sets, the metric fixed by override METRIC:
//   METRIC 0, dot:      P[i, j] = ⟨x1ᵢ, x2ⱼ⟩
//   METRIC 1, cosine:   P[i, j] = ⟨x1ᵢ, x2ⱼ⟩ / (‖x1ᵢ‖ ‖x2ⱼ‖), 0 where either norm is 0
//   METRIC 2, sqeuclid: P[i, j] = ‖x1ᵢ − x2ⱼ‖²                     (CRAIG's distance Dᵢⱼ)
//   METRIC 3, exp:      P[i, j] = exp(−‖x1ᵢ − x2ⱼ‖₂ / c), c = p.scale (CREST's similarity: unsquared distance)
//
// Distances are summed exactly, as Σₖ (x1ᵢₖ − x2ⱼₖ)², not expanded as ‖x‖² + ‖y‖² − 2⟨x, y⟩. The expansion
// cancels for near neighbours (absolute error ~ε‖x‖², so a distance of 0 comes out as ±1e-7‖x‖² and, after
// the square root of the exp kernel, as ~3e-4‖x‖), needs a clamp at 0, and misses the exact 0 on the
// diagonal that facility location expects (similarity exactly 1). The exact form is never negative and costs
// one subtraction per term; the loop is bound by its loads, so on lavapipe it runs as fast as dot.
//
// Mapping: a workgroup of WG lanes computes a tile of TM = 16 rows × 8·WG columns. The 16 rows are the same
// for every lane, so their loads are uniform (one load, broadcast); lane l owns the 8 columns l + WG·v
// (v < 8), so the stores of a row are contiguous across lanes. The lane's 16 × 8 block lives in eight
// mat4x4 accumulators: sRH[r] holds row 4R + r against the lane's columns 4H..4H+3. The k loop reads both
// operands straight from storage. matmul's scheme (k-slabs staged in workgroup memory between barriers)
// ran 3–4× slower on lavapipe at n = 4096, d = 256: there every workgroup load is a gather and every barrier
// a coroutine switch, while the tile's 16 + 8·WG rows of x stay in the CPU's cache anyway. WG = 8 is one
// AVX2 SIMD group on lavapipe. Tiles past the dispatch grid (maxComputeWorkgroupsPerDimension) are walked
// by grid-stride loops. Rows and columns past the block's end load its last row and are never stored.

// TM, CL, WG and the entry point `main`: register_tiles.wgsl, prepended by the wrapper.
const DOT: u32 = 0u;
const COSINE: u32 = 1u;
const EXP: u32 = 3u;

override METRIC: u32 = 0u;  // 0 dot, 1 cosine, 2 sqeuclid, 3 exp

struct Params {
  m: u32,      // rows of the block (of x1 and P)
  n: u32,      // columns of the block (rows of x2)
  d: u32,      // features per row
  scale: f32,  // c of the exp kernel (METRIC 3); unused otherwise
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x1: array<f32>;        // (m, d)
@group(0) @binding(2) var<storage, read> x2: array<f32>;        // (n, d)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // (m, n)

// The lane's block: rows row0..row0+15, columns col0 + WG·v.
fn tile(row0: u32, col0: u32) {
  let r0 = row_offsets(row0);
  let r1 = row_offsets(row0 + 4u);
  let r2 = row_offsets(row0 + 8u);
  let r3 = row_offsets(row0 + 12u);
  let c0 = col_offsets(col0);
  let c1 = col_offsets(col0 + 4u * WG);
  var s00 = mat4x4<f32>(); var s01 = mat4x4<f32>(); var s10 = mat4x4<f32>(); var s11 = mat4x4<f32>();
  var s20 = mat4x4<f32>(); var s21 = mat4x4<f32>(); var s30 = mat4x4<f32>(); var s31 = mat4x4<f32>();
  var rn0 = vec4<f32>(); var rn1 = vec4<f32>(); var rn2 = vec4<f32>(); var rn3 = vec4<f32>();  // ‖x1ᵢ‖²
  var cn0 = vec4<f32>(); var cn1 = vec4<f32>();                                                 // ‖x2ⱼ‖²
  for (var t = 0u; t < p.d; t++) {
    let v0 = load2(c0, t);
    let v1 = load2(c1, t);
    let u0 = load1(r0, t);
    s00 = update(s00, u0, v0); s01 = update(s01, u0, v1);
    let u1 = load1(r1, t);
    s10 = update(s10, u1, v0); s11 = update(s11, u1, v1);
    let u2 = load1(r2, t);
    s20 = update(s20, u2, v0); s21 = update(s21, u2, v1);
    let u3 = load1(r3, t);
    s30 = update(s30, u3, v0); s31 = update(s31, u3, v1);
    if (METRIC == COSINE) {
      rn0 = fma(u0, u0, rn0); rn1 = fma(u1, u1, rn1); rn2 = fma(u2, u2, rn2); rn3 = fma(u3, u3, rn3);
      cn0 = fma(v0, v0, cn0); cn1 = fma(v1, v1, cn1);
    }
  }
  store_rows(row0, col0, s00, s01, rn0, cn0, cn1);
  store_rows(row0 + 4u, col0, s10, s11, rn1, cn0, cn1);
  store_rows(row0 + 8u, col0, s20, s21, rn2, cn0, cn1);
  store_rows(row0 + 12u, col0, s30, s31, rn3, cn0, cn1);
}

// Element offsets of rows first..first+3 of x1, clamped to the last row.
fn row_offsets(first: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u)) * p.d;
}

// Element offsets of the lane's columns first + WG·v (v < 4) in x2, clamped to the last row.
fn col_offsets(first: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) * WG, vec4<u32>(p.n - 1u)) * p.d;
}

// Entry t of four rows of x1 (x2) at element offsets base.
fn load1(base: vec4<u32>, t: u32) -> vec4<f32> {
  return vec4<f32>(x1[base.x + t], x1[base.y + t], x1[base.z + t], x1[base.w + t]);
}

fn load2(base: vec4<u32>, t: u32) -> vec4<f32> {
  return vec4<f32>(x2[base.x + t], x2[base.y + t], x2[base.z + t], x2[base.w + t]);
}

// One k step for four rows (a) against four columns (b): acc[r] += a[r]·b, or (a[r] − b)².
fn update(acc: mat4x4<f32>, a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(term(acc[0], a.x, b), term(acc[1], a.y, b), term(acc[2], a.z, b), term(acc[3], a.w, b));
}

fn term(acc: vec4<f32>, a: f32, b: vec4<f32>) -> vec4<f32> {
  if (METRIC == DOT || METRIC == COSINE) { return fma(vec4<f32>(a), b, acc); }
  let q = vec4<f32>(a) - b;
  return fma(q, q, acc);
}

// Stores rows row0..row0+3; lo and hi hold the lane's columns col0 + WG·(0..3) and col0 + WG·(4..7).
fn store_rows(row0: u32, col0: u32, lo: mat4x4<f32>, hi: mat4x4<f32>, rn: vec4<f32>, cn0: vec4<f32>,
              cn1: vec4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + r;
    if (i >= p.m) { return; }
    store4(i, col0, lo[r], rn[r], cn0);
    store4(i, col0 + 4u * WG, hi[r], rn[r], cn1);
  }
}

fn store4(i: u32, col0: u32, v: vec4<f32>, rn: f32, cn: vec4<f32>) {
  for (var c = 0u; c < 4u; c++) {
    let j = col0 + c * WG;
    if (j < p.n) { out[i * p.n + j] = finish(v[c], rn, cn[c]); }
  }
}

// The metric from the accumulated sum (a dot product or a squared distance) and the squared norms.
fn finish(acc: f32, rn: f32, cn: f32) -> f32 {
  if (METRIC == COSINE) {
    let den = sqrt(rn) * sqrt(cn);
    return select(0.0, acc / den, den > 0.0);
  }
  if (METRIC == EXP) { return exp(-sqrt(acc) / p.scale); }
  return acc;
}
