// im2col — unrolls the k×k patches of an NHWC image batch into the rows of a matrix, so that a
// stride-1 convolution is one matmul with no transposes:
//   cols[(b·Ho + ho)·Wo + wo, (ky·k + kx)·Cin + ci] = x[b, ho + ky − pad, wo + kx − pad, ci]
// (0 where the source lies in the zero padding), with Ho = H + 2·pad − k + 1, Wo = W + 2·pad − k + 1.
// Then cols · Wt, Wt stored (k·k·Cin, Cout), is y (B·Ho·Wo, Cout) = y (B, Ho, Wo, Cout) in NHWC.
//
// Mapping: one thread per element of cols, in row-major order, so consecutive threads write
// consecutive addresses and read runs of Cin consecutive channels. The dispatch is folded into 2-D when
// it exceeds 65535 workgroups: the element index is (wg.y · num_workgroups.x + wg.x) · WG + local
// index, bounds-checked against the element count. The wrapper splits a batch too large for one
// storage binding into chunks of whole images; `batch` is the chunk's.

override WG: u32 = 256u;

struct Params {
  batch: u32,  // images B in this dispatch
  h: u32,      // input height H
  w: u32,      // input width W
  cin: u32,    // input channels Cin
  k: u32,      // kernel side k (square kernel, stride 1)
  pad: u32,    // zero padding on every side
  ho: u32,     // output height H + 2·pad − k + 1
  wo: u32,     // output width W + 2·pad − k + 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // (B, H, W, Cin) NHWC
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;   // (B·Ho·Wo, k·k·Cin)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  let kkc = p.k * p.k * p.cin;
  if (i >= p.batch * p.ho * p.wo * kkc) { return; }
  let col = i % kkc;
  let row = i / kkc;
  let ci = col % p.cin;
  let kx = (col / p.cin) % p.k;
  let ky = col / (p.cin * p.k);
  let wo = row % p.wo;
  let ho = (row / p.wo) % p.ho;
  let b = row / (p.wo * p.ho);
  // Source coordinates in the unpadded image; signed, as they go below 0 inside the padding.
  let iy = i32(ho + ky) - i32(p.pad);
  let ix = i32(wo + kx) - i32(p.pad);
  var v = 0.0;
  if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
    v = x[((b * p.h + u32(iy)) * p.w + u32(ix)) * p.cin + ci];
  }
  cols[i] = v;
}
