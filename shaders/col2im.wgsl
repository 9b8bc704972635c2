// col2im — the adjoint of im2col (shaders/im2col.wgsl): scatters the gradient of the unrolled patch
// matrix back onto the image, summing over every patch position that read a pixel:
//   dx[b, h, w, ci] = Σ_{ky, kx} dcols[(b·Ho + ho)·Wo + wo, (ky·k + kx)·Cin + ci],
//   ho = h + pad − ky, wo = w + pad − kx, terms with ho ∉ [0, Ho) or wo ∉ [0, Wo) dropped,
// so that ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c. In a convolution's backward pass,
// dcols = dy · Wtᵀ and dx = col2im(dcols).
//
// Mapping: gather form, one thread per element of dx looping over the k·k kernel taps in (ky, kx)
// order, so there are no atomics and the sum order is fixed (results are deterministic). The dispatch
// is folded into 2-D when it exceeds 65535 workgroups: the element index is
// (wg.y · num_workgroups.x + wg.x) · WG + local index, bounds-checked. The wrapper splits a batch too
// large for one storage binding into chunks of whole images; `batch` is the chunk's.

override WG: u32 = 256u;

struct Params {
  batch: u32,  // images B in this dispatch
  h: u32,      // image height H
  w: u32,      // image width W
  cin: u32,    // channels Cin
  k: u32,      // kernel side k (square kernel, stride 1)
  pad: u32,    // zero padding on every side
  ho: u32,     // patch rows per column: H + 2·pad − k + 1
  wo: u32,     // patch columns per row: W + 2·pad − k + 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dcols: array<f32>;      // (B·Ho·Wo, k·k·Cin)
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;   // (B, H, W, Cin) NHWC

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.batch * p.h * p.w * p.cin) { return; }
  let ci = i % p.cin;
  let w = (i / p.cin) % p.w;
  let h = (i / (p.cin * p.w)) % p.h;
  let b = i / (p.cin * p.w * p.h);
  let kkc = p.k * p.k * p.cin;
  var acc = 0.0;
  for (var ky = 0u; ky < p.k; ky++) {
    // Patch row that read this pixel through tap ky; signed, as it goes below 0 near the top edge.
    let ho = i32(h + p.pad) - i32(ky);
    if (ho < 0 || ho >= i32(p.ho)) { continue; }
    for (var kx = 0u; kx < p.k; kx++) {
      let wo = i32(w + p.pad) - i32(kx);
      if (wo < 0 || wo >= i32(p.wo)) { continue; }
      let row = (b * p.ho + u32(ho)) * p.wo + u32(wo);
      acc += dcols[row * kkc + (ky * p.k + kx) * p.cin + ci];
    }
  }
  dx[i] = acc;
}
