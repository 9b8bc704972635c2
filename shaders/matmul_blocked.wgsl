// matmul_blocked — C = alpha · op(A) · op(B) + beta · C, op = identity or transpose (TRANS_A, TRANS_B),
// without workgroup memory: the variant for CPU adapters (lavapipe). src/gpu/ops/matmul.ts picks it
// there and matmul.wgsl (workgroup-memory tiles) on GPUs.
//
// Why two: on lavapipe a workgroup of 256 invocations runs as 32 SIMD groups of 8 that switch at every
// barrier, and every load from workgroup memory is a gather, so matmul.wgsl's slabs cost more than they
// save — the MLP's 128 × 784 × 256 product ran at 2.8 GFLOP/s. Here (the scheme of pairwise.wgsl) a
// workgroup is WG = 8 lanes, one AVX2 SIMD group, and each lane keeps a 16 × 8 block of C in registers:
// the 16 rows of A are shared by the lanes (uniform loads, broadcast), lane l owns the 8 columns
// col0 + l + WG·v (v < 8), so its loads of B are contiguous across the lanes when B is not transposed.
// On a GPU the opposite holds (workgroup memory is fast, 8-lane workgroups waste most of a warp).
//
// Layouts: A is (m, k), or (k, m) when TRANS_A; B is (k, n), or (n, k) when TRANS_B; C is (m, n); all
// row-major. Rows and columns past C's edge load the last row / column and are never stored. With
// beta = 0, C is not read (it may hold anything, NaN included).

// TM, CL, WG and the entry point `main`: register_tiles.wgsl, prepended by the wrapper.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// The lane's block: rows row0..row0+15, columns col0 + WG·v.
fn tile(row0: u32, col0: u32) {
  let r0 = a_offsets(row0);
  let r1 = a_offsets(row0 + 4u);
  let r2 = a_offsets(row0 + 8u);
  let r3 = a_offsets(row0 + 12u);
  let c0 = b_offsets(col0);
  let c1 = b_offsets(col0 + 4u * WG);
  let sa = select(1u, p.m, TRANS_A);  // step of A's offsets per k
  let sb = select(p.n, 1u, TRANS_B);  // step of B's offsets per k
  var s00 = mat4x4<f32>(); var s01 = mat4x4<f32>(); var s10 = mat4x4<f32>(); var s11 = mat4x4<f32>();
  var s20 = mat4x4<f32>(); var s21 = mat4x4<f32>(); var s30 = mat4x4<f32>(); var s31 = mat4x4<f32>();
  for (var t = 0u; t < p.k; t++) {
    let ta = t * sa;
    let tb = t * sb;
    let v0 = load_b(c0 + vec4<u32>(tb));
    let v1 = load_b(c1 + vec4<u32>(tb));
    let u0 = load_a(r0 + vec4<u32>(ta));
    s00 = update(s00, u0, v0); s01 = update(s01, u0, v1);
    let u1 = load_a(r1 + vec4<u32>(ta));
    s10 = update(s10, u1, v0); s11 = update(s11, u1, v1);
    let u2 = load_a(r2 + vec4<u32>(ta));
    s20 = update(s20, u2, v0); s21 = update(s21, u2, v1);
    let u3 = load_a(r3 + vec4<u32>(ta));
    s30 = update(s30, u3, v0); s31 = update(s31, u3, v1);
  }
  store_rows(row0, col0, s00, s01);
  store_rows(row0 + 4u, col0, s10, s11);
  store_rows(row0 + 8u, col0, s20, s21);
  store_rows(row0 + 12u, col0, s30, s31);
}

// Offsets of op(A)[i, 0] for rows first..first+3 (clamped to the last row).
fn a_offsets(first: u32) -> vec4<u32> {
  let i = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u));
  return select(i * p.k, i, TRANS_A);
}

// Offsets of op(B)[0, j] for the lane's columns first + WG·v, v < 4 (clamped to the last column).
fn b_offsets(first: u32) -> vec4<u32> {
  let j = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) * WG, vec4<u32>(p.n - 1u));
  return select(j, j * p.k, TRANS_B);
}

fn load_a(o: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(a[o.x], a[o.y], a[o.z], a[o.w]);
}

fn load_b(o: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(b[o.x], b[o.y], b[o.z], b[o.w]);
}

// acc[r] += u[r] · v: four rows of A against four columns of B.
fn update(acc: mat4x4<f32>, u: vec4<f32>, v: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(vec4<f32>(u.x), v, acc[0]), fma(vec4<f32>(u.y), v, acc[1]),
                     fma(vec4<f32>(u.z), v, acc[2]), fma(vec4<f32>(u.w), v, acc[3]));
}

// Stores rows row0..row0+3; lo holds the lane's columns col0 + WG·(0..3), hi col0 + WG·(4..7).
fn store_rows(row0: u32, col0: u32, lo: mat4x4<f32>, hi: mat4x4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + r;
    if (i >= p.m) { return; }
    store4(i, col0, lo[r]);
    store4(i, col0 + 4u * WG, hi[r]);
  }
}

fn store4(i: u32, col0: u32, v: vec4<f32>) {
  for (var q = 0u; q < 4u; q++) {
    let j = col0 + q * WG;
    if (j < p.n) {
      let at = i * p.n + j;
      var out = p.alpha * v[q];
      if (p.beta != 0.0) { out += p.beta * c[at]; }
      c[at] = out;
    }
  }
}
