// factor_gram_fused — factor_gram's path for GPUs (src/gpu/ops/factor_gram.ts): the block
//   G[i, j] = ⟨e1ᵢ, e2ⱼ⟩ (⟨h1ᵢ, h2ⱼ⟩ + β)   = ⟨g1ᵢ, g2ⱼ⟩ for gᵢ = [eᵢ ⊗ hᵢ, √β eᵢ],
// and with COSINE, divided by ‖g1ᵢ‖ ‖g2ⱼ‖ where ‖gᵢ‖² = ‖eᵢ‖² (‖hᵢ‖² + β) (0 where either is 0), as two
// tiled products that share one tile of G: the e part (k = C) and the h part (k = D) accumulate in two
// register blocks and are combined on the way out, so neither product is stored (the path before it
// wrote e1·e2ᵀ and h1·h2ᵀ to two (m, n) buffers and combined them in a third pass: 2.6 against 1.8 ms at
// m = n = 6,000, C = 10, D = 256 on an H100).
//
// Mapping as matmul.wgsl's: a workgroup of TX×TY threads owns a (8·TY)×(4·TX) tile of G (64 × 64 by
// default: the fastest of the TX × TY tried on an H100; 8 × 8 entries per thread, tried too, were no
// faster); each thread an 8×4 block (rows 8·ty.., columns 4·tx..) in eight vec4 accumulators per
// factor. k is walked in slabs of 16 staged in workgroup memory, k-major, so that a thread reads its rows
// and columns as vec4; out-of-range rows, columns and k entries are staged as 0, so any shape works,
// including 1 (a whole slab of a tile inside G is staged without those checks).
//
// Shapes (f32, row-major): e1 (m, c), h1 (m, d), e2 (n, c), h2 (n, d); nrm (2m + 2n) = the squared norms
// [‖e1ᵢ‖², ‖h1ᵢ‖², ‖e2ⱼ‖², ‖h2ⱼ‖²], read only with COSINE; out (m, n).

const SLAB: u32 = 16u;  // k entries staged per iteration

override COSINE: bool = false;
override TX: u32 = 16u;  // threads along columns; the tile has 4·TX columns
override TY: u32 = 8u;   // threads along rows; the tile has 8·TY rows

struct Params {
  m: u32,     // rows (set 1)
  n: u32,     // columns (set 2)
  c: u32,     // classes: columns of e
  d: u32,     // features: columns of h
  bias: f32,  // β
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e1: array<f32>;        // (m, c)
@group(0) @binding(2) var<storage, read> h1: array<f32>;        // (m, d)
@group(0) @binding(3) var<storage, read> e2: array<f32>;        // (n, c)
@group(0) @binding(4) var<storage, read> h2: array<f32>;        // (n, d)
@group(0) @binding(5) var<storage, read> nrm: array<f32>;       // (2m + 2n), COSINE only
@group(0) @binding(6) var<storage, read_write> out: array<f32>; // (m, n)

var<workgroup> As: array<vec4<f32>, SLAB * TY * 2u>;  // (SLAB, 2·TY) vec4: set 1's slab, k-major
var<workgroup> Bs: array<vec4<f32>, SLAB * TX>;       // (SLAB, TX) vec4: set 2's slab, k-major

// Entry kk of row i of e1 (use_e) or h1; 0 out of range.
fn load1(use_e: bool, i: u32, kk: u32) -> f32 {
  if (i >= p.m || kk >= select(p.d, p.c, use_e)) { return 0.0; }
  if (use_e) { return e1[i * p.c + kk]; }
  return h1[i * p.d + kk];
}

fn load2(use_e: bool, j: u32, kk: u32) -> f32 {
  if (j >= p.n || kk >= select(p.d, p.c, use_e)) { return 0.0; }
  if (use_e) { return e2[j * p.c + kk]; }
  return h2[j * p.d + kk];
}

// Stages entries t..t+15 of the tile's rows (As) and columns (Bs) of one factor.
fn stage(use_e: bool, t: u32, row0: u32, col0: u32, li: u32) {
  for (var s = li; s < SLAB * TY * 2u; s += TX * TY) {
    let kk = t + s / (TY * 2u);
    let i = row0 + (s % (TY * 2u)) * 4u;
    As[s] = vec4<f32>(load1(use_e, i, kk), load1(use_e, i + 1u, kk), load1(use_e, i + 2u, kk),
                      load1(use_e, i + 3u, kk));
  }
  for (var s = li; s < SLAB * TX; s += TX * TY) {
    let kk = t + s / TX;
    let j = col0 + (s % TX) * 4u;
    Bs[s] = vec4<f32>(load2(use_e, j, kk), load2(use_e, j + 1u, kk), load2(use_e, j + 2u, kk),
                      load2(use_e, j + 3u, kk));
  }
}

// stage() for a slab wholly inside the factors (t + 16 ≤ k, the tile's rows and columns all in range).
fn stage_inside(use_e: bool, t: u32, row0: u32, col0: u32, li: u32) {
  let k = select(p.d, p.c, use_e);
  for (var s = li; s < SLAB * TY * 2u; s += TX * TY) {
    let o = (row0 + (s % (TY * 2u)) * 4u) * k + t + s / (TY * 2u);
    if (use_e) { As[s] = vec4<f32>(e1[o], e1[o + k], e1[o + 2u * k], e1[o + 3u * k]); }
    else { As[s] = vec4<f32>(h1[o], h1[o + k], h1[o + 2u * k], h1[o + 3u * k]); }
  }
  for (var s = li; s < SLAB * TX; s += TX * TY) {
    let o = (col0 + (s % TX) * 4u) * k + t + s / TX;
    if (use_e) { Bs[s] = vec4<f32>(e2[o], e2[o + k], e2[o + 2u * k], e2[o + 3u * k]); }
    else { Bs[s] = vec4<f32>(h2[o], h2[o + k], h2[o + 2u * k], h2[o + 3u * k]); }
  }
}

// The thread's 8×4 block of e1·e2ᵀ (use_e) or h1·h2ᵀ over the tile.
fn product(use_e: bool, row0: u32, col0: u32, lid: vec3<u32>, li: u32) -> array<vec4<f32>, 8> {
  var acc: array<vec4<f32>, 8>;
  let k = select(p.d, p.c, use_e);
  let inside = row0 + TY * 8u <= p.m && col0 + TX * 4u <= p.n;
  for (var t = 0u; t < k; t += SLAB) {
    if (inside && t + SLAB <= k) {
      stage_inside(use_e, t, row0, col0, li);
    } else {
      stage(use_e, t, row0, col0, li);
    }
    workgroupBarrier();
    for (var s = 0u; s < SLAB; s++) {
      let av = As[s * TY * 2u + lid.y * 2u];
      let aw = As[s * TY * 2u + lid.y * 2u + 1u];
      let bv = Bs[s * TX + lid.x];
      acc[0] += av.x * bv; acc[1] += av.y * bv; acc[2] += av.z * bv; acc[3] += av.w * bv;
      acc[4] += aw.x * bv; acc[5] += aw.y * bv; acc[6] += aw.z * bv; acc[7] += aw.w * bv;
    }
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TY * 8u;
  let col0 = wg.x * TX * 4u;
  let ee = product(true, row0, col0, lid, li);
  let hh = product(false, row0, col0, lid, li);
  let i = row0 + lid.y * 8u;
  let j = col0 + lid.x * 4u;
  store_row(i, j, ee[0], hh[0]);
  store_row(i + 1u, j, ee[1], hh[1]);
  store_row(i + 2u, j, ee[2], hh[2]);
  store_row(i + 3u, j, ee[3], hh[3]);
  store_row(i + 4u, j, ee[4], hh[4]);
  store_row(i + 5u, j, ee[5], hh[5]);
  store_row(i + 6u, j, ee[6], hh[6]);
  store_row(i + 7u, j, ee[7], hh[7]);
}

// G's row i at columns j0..j0+3 from the two products' entries.
fn store_row(i: u32, j0: u32, ee: vec4<f32>, hh: vec4<f32>) {
  if (i >= p.m) { return; }
  var q1 = 0.0;
  if (COSINE) { q1 = nrm[i] * (nrm[p.m + i] + p.bias); }
  for (var v = 0u; v < 4u; v++) {
    let j = j0 + v;
    if (j < p.n) {
      var g = ee[v] * (hh[v] + p.bias);
      if (COSINE) {
        let q = q1 * nrm[2u * p.m + j] * (nrm[2u * p.m + p.n + j] + p.bias);
        g = select(0.0, g / sqrt(q), q > 0.0);
      }
      out[i * p.n + j] = g;
    }
  }
}
