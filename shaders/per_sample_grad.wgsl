// per_sample_grad — per-sample gradients of softmax cross-entropy w.r.t. the last linear layer, materialised.
// For logits z = W h + b: ∂ℓᵢ/∂W = eᵢ hᵢᵀ and ∂ℓᵢ/∂b = eᵢ, with eᵢ = softmax(zᵢ) − onehot(yᵢ), so
// gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (algorithms.md), laid out as W's row-major gradient, then the bias part:
//   g[i, c·D + d] = e[i, c] · h[i, d]   (c < C, d < D)
//   g[i, C·D + c] = e[i, c]             (only when BIAS; NFG keeps the weight part alone)
// Rows of g have W = C·(D + 1) entries, or C·D without BIAS.
//
// Mapping: one thread per entry of g. Workgroups of 64 threads cover 64 consecutive entries of a row
// (x: column blocks, y: rows), so reads of h and writes of g are contiguous; grid-stride loops walk what the
// dispatch grid (maxComputeWorkgroupsPerDimension) does not reach.

const WGS: u32 = 64u;  // threads per workgroup, along a row of g

override BIAS: bool = true;

struct Params {
  n: u32,  // rows (samples)
  c: u32,  // classes: entries of e
  d: u32,  // features: entries of h
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e: array<f32>;        // (n, c)
@group(0) @binding(2) var<storage, read> h: array<f32>;        // (n, d)
@group(0) @binding(3) var<storage, read_write> g: array<f32>;  // (n, c·(d + 1)), or (n, c·d) without BIAS

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let weights = p.c * p.d;
  let width = select(weights, weights + p.c, BIAS);
  for (var i = wg.y; i < p.n; i += nwg.y) {
    for (var j = wg.x * WGS + lid.x; j < width; j += nwg.x * WGS) {
      var v: f32;
      if (j < weights) {
        let c = j / p.d;
        v = e[i * p.c + c] * h[i * p.d + j - c * p.d];
      } else {
        v = e[i * p.c + j - weights];
      }
      g[i * width + j] = v;
    }
  }
}
