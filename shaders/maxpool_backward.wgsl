// maxpool_backward — gradient of 2×2 stride-2 max pooling (shaders/maxpool.wgsl) with respect to its
// input, routed by the forward pass's argmax:
//   dx[b, h, w, c] = dy[b, ⌊h/2⌋, ⌊w/2⌋, c] if argmax[b, ⌊h/2⌋, ⌊w/2⌋, c] = 2·(h mod 2) + (w mod 2),
//                    0 otherwise, and 0 in the last row or column dropped when H or W is odd.
// Every input pixel belongs to at most one window, so each dx element receives at most one term.
//
// Mapping: gather form, one thread per element of dx, in row-major order; every dx element is written
// (no separate zero fill, no atomics). The dispatch is folded into 2-D when it exceeds 65535
// workgroups: the element index is (wg.y · num_workgroups.x + wg.x) · WG + local index,
// bounds-checked. The wrapper splits a batch too large for one storage binding into chunks of whole
// images; `batch` is the chunk's.

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
@group(0) @binding(1) var<storage, read> dy: array<f32>;           // (B, Ho, Wo, C) NHWC
@group(0) @binding(2) var<storage, read> argmax: array<u32>;       // (B, Ho, Wo, C) window position 0..3
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;     // (B, H, W, C) NHWC

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.batch * p.h * p.w * p.c) { return; }
  let ch = i % p.c;
  let w = (i / p.c) % p.w;
  let h = (i / (p.c * p.w)) % p.h;
  let b = i / (p.c * p.w * p.h);
  let ho = h / 2u;
  let wo = w / 2u;
  var g = 0.0;
  if (ho < p.ho && wo < p.wo) {
    let j = ((b * p.ho + ho) * p.wo + wo) * p.c + ch;
    if (argmax[j] == 2u * (h % 2u) + w % 2u) { g = dy[j]; }
  }
  dx[i] = g;
}
