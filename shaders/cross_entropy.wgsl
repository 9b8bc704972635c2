// cross_entropy — weighted softmax cross-entropy, forward and backward in one pass over the logits z:
//
//   ℓ_i = logsumexp(z_i) − z_i[y_i],                 loss[i] = w_i · ℓ_i
//   ∂(scale · Σ_i w_i ℓ_i) / ∂z_i[j] = scale · w_i · (softmax(z_i)[j] − [j = y_i])
//
// With scale = 1 / Σ w the gradient is that of the weighted mean Σ w_i ℓ_i / Σ w_i, the loss a coreset
// is trained on (w_i its weights, or 1). The row max m_i makes it overflow-free: logsumexp(z_i) =
// m_i + log s_i with s_i = Σ_j exp(z_i[j] − m_i) ≥ 1, and ℓ_i = log s_i + (m_i − z_i[y_i]) ≥ 0.
//
// Shapes: logits and dlogits (n, c) f32 row-major, c ≥ 1; labels (n) u32; weights and loss (n) f32.
//
// Mapping: as softmax.wgsl. One workgroup of WG threads per row (WG a power of two chosen by the
// wrapper from c); thread t walks columns t, t + WG, …; max and sum are tree-reduced in workgroup
// memory; the grid is folded into (x, y), row = wg.x + wg.y · num_workgroups.x, and workgroups past the
// last row leave before any barrier (a test on uniform values only).
//
// Labels are checked on the CPU. A label ≥ c that slips through never indexes the logits: its loss is
// NaN, so the mistake shows in any mean of the loss, and its gradient row is 0, so it moves no weight.

override WG: u32 = 256u;  // threads per row: a power of two ≤ 256

struct Params {
  n: u32,      // rows (samples)
  c: u32,      // columns (classes)
  scale: f32,  // factor of the gradient, e.g. 1 / Σ w for the weighted mean
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (n, c)
@group(0) @binding(2) var<storage, read> labels: array<u32>;          // (n)
@group(0) @binding(3) var<storage, read> weights: array<f32>;         // (n)
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;      // (n): w_i · ℓ_i
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;   // (n, c)

// red, reduce_max and reduce_sum: row_reductions.wgsl (prepended).

const QUIET_NAN: u32 = 0x7fc00000u;  // f32 bits of a quiet NaN (WGSL has no NaN literal)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.n) { return; }
  let base = row * p.c;
  var m = logits[base];  // a real entry of the row: the identity for threads that own no column
  for (var j = t; j < p.c; j += WG) { m = max(m, logits[base + j]); }
  m = reduce_max(m, t);
  var s = 0.0;
  for (var j = t; j < p.c; j += WG) { s += exp(logits[base + j] - m); }
  s = reduce_sum(s, t);

  let label = labels[row];
  let valid = label < p.c;
  let w = weights[row];
  if (t == 0u) {
    let zy = logits[base + select(0u, label, valid)];
    loss[row] = select(bitcast<f32>(QUIET_NAN), w * (log(s) + (m - zy)), valid);
  }
  // g = scale · w · (softmax − onehot); a row with an invalid label gets g = 0.
  let gscale = select(0.0, p.scale * w, valid);
  let inv = 1.0 / s;
  for (var j = t; j < p.c; j += WG) {
    let prob = exp(logits[base + j] - m) * inv;
    dlogits[base + j] = gscale * (prob - select(0.0, 1.0, j == label));
  }
}
