// maxpool — 2×2 max pooling with stride 2 over an NHWC batch:
//   y[b, ho, wo, c] = max_{dy, dx ∈ {0, 1}} x[b, 2·ho + dy, 2·wo + dx, c],  Ho = ⌊H/2⌋, Wo = ⌊W/2⌋,
// and argmax[b, ho, wo, c] = 2·dy + dx of the maximum, the first in that order on ties, which
// maxpool_backward.wgsl uses to route the gradient. With H or W odd the last row or column is dropped
// (floor), as in PyTorch's MaxPool2d(2).
//
// Mapping: one thread per element of y, in row-major order, so consecutive threads read and write
// consecutive channels. The dispatch is folded into 2-D when it exceeds 65535 workgroups: the element
// index is (wg.y · num_workgroups.x + wg.x) · WG + local index, bounds-checked. The wrapper splits a
// batch too large for one storage binding into chunks of whole images; `batch` is the chunk's.
// Assumption: x holds no NaN (a NaN is kept only in window position 0; comparisons skip the others).

override WG: u32 = 256u;

struct Params {
  batch: u32,  // images B in this dispatch
  h: u32,      // input height H (≥ 2)
  w: u32,      // input width W (≥ 2)
  c: u32,      // channels C
  ho: u32,     // output height ⌊H/2⌋
  wo: u32,     // output width ⌊W/2⌋
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;              // (B, H, W, C) NHWC
@group(0) @binding(2) var<storage, read_write> y: array<f32>;        // (B, Ho, Wo, C) NHWC
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;   // (B, Ho, Wo, C) window position 0..3

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.batch * p.ho * p.wo * p.c) { return; }
  let ch = i % p.c;
  let wo = (i / p.c) % p.wo;
  let ho = (i / (p.c * p.wo)) % p.ho;
  let b = i / (p.c * p.wo * p.ho);
  // Top-left of the window; position q = 2·dy + dx is at offset dy·W·C + dx·C from it.
  let base = ((b * p.h + 2u * ho) * p.w + 2u * wo) * p.c + ch;
  var best = x[base];
  var arg = 0u;
  for (var q = 1u; q < 4u; q++) {
    let v = x[base + (q / 2u) * p.w * p.c + (q % 2u) * p.c];
    if (v > best) {  // strict: the first maximum wins ties
      best = v;
      arg = q;
    }
  }
  y[i] = best;
  argmax[i] = arg;
}
