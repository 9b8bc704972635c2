// matmul — C = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ chosen by override constants.
//
// Shapes (row-major f32): op(A) is (m, k), op(B) is (k, n), C is (m, n). A is stored (m, k), or (k, m)
// when TRANS_A; B is stored (k, n), or (n, k) when TRANS_B.
//
// Mapping: one workgroup of 16×16 threads computes a 64×64 tile of C; each thread owns a 4×4 block
// (rows 4·ty..4·ty+3, columns 4·tx..4·tx+3) held in four vec4 registers. The k dimension is walked in
// slabs of 16: the workgroup stages a 16×64 slab of op(A) and of op(B) in workgroup memory (k-major, so
// a thread reads its 4 rows / 4 columns as one vec4), then every thread does 16 rank-1 updates of its
// block. Out-of-range rows, columns and k entries are staged as 0, so any shape works, including 1.
// beta = 0 never reads C (it may hold garbage, even NaN).

const TILE: u32 = 64u;   // rows and columns of C per workgroup
const SLAB: u32 = 16u;   // k entries staged per iteration
const T4: u32 = 16u;     // TILE / 4: vec4 columns of a staged slab row

override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params {
  m: u32,      // rows of op(A) and C
  n: u32,      // columns of op(B) and C
  k: u32,      // inner dimension
  alpha: f32,  // scale of the product
  beta: f32,   // scale of the old C (0: C is overwritten, never read)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (m, k), or (k, m) if TRANS_A
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (k, n), or (n, k) if TRANS_B
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (m, n)

var<workgroup> As: array<vec4<f32>, 256>;  // (SLAB, TILE/4): op(A) slab, k-major
var<workgroup> Bs: array<vec4<f32>, 256>;  // (SLAB, TILE/4): op(B) slab, k-major

fn load_a(row: u32, kk: u32) -> f32 {
  if (row >= p.m || kk >= p.k) { return 0.0; }
  if (TRANS_A) { return a[kk * p.m + row]; }
  return a[row * p.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
  if (kk >= p.k || col >= p.n) { return 0.0; }
  if (TRANS_B) { return b[col * p.k + kk]; }
  return b[kk * p.n + col];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var t = 0u; t < p.k; t += SLAB) {
    // 256 threads stage 256 vec4 of each slab: thread li fills slab row li / 16, vec4 column li % 16.
    let kk = li / T4;
    let q = (li % T4) * 4u;
    As[li] = vec4<f32>(load_a(row0 + q, t + kk), load_a(row0 + q + 1u, t + kk),
                       load_a(row0 + q + 2u, t + kk), load_a(row0 + q + 3u, t + kk));
    Bs[li] = vec4<f32>(load_b(t + kk, col0 + q), load_b(t + kk, col0 + q + 1u),
                       load_b(t + kk, col0 + q + 2u), load_b(t + kk, col0 + q + 3u));
    workgroupBarrier();
    for (var s = 0u; s < SLAB; s++) {
      let av = As[s * T4 + lid.y];
      let bv = Bs[s * T4 + lid.x];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let r = row0 + lid.y * 4u;
  let cb = col0 + lid.x * 4u;
  store_row(r, cb, acc0);
  store_row(r + 1u, cb, acc1);
  store_row(r + 2u, cb, acc2);
  store_row(r + 3u, cb, acc3);
}

fn store_row(row: u32, col: u32, v: vec4<f32>) {
  if (row >= p.m) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (col + j < p.n) {
      let idx = row * p.n + col + j;
      var out = p.alpha * v[j];
      if (p.beta != 0.0) { out += p.beta * c[idx]; }
      c[idx] = out;
    }
  }
}
