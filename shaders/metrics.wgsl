// metrics — accumulates a batch's loss sum, correct predictions, sample count and weight sum into a
// 4-float accumulator that stays on the GPU for a whole epoch; only the epoch's totals are read back.
//   acc[0] += Σᵢ loss[i]        acc[1] += #{ i : argmax(logits[i]) = labels[i] }
//   acc[2] += n                 acc[3] += Σᵢ weights[i]
// argmax takes the first maximum on ties.
//
// Mapping: a single workgroup of WG threads; thread t walks rows t, t + WG, …, then a tree reduction in
// workgroup memory. Batches are at most a few thousand rows, so one workgroup is enough.

override WG: u32 = 256u;

struct Params {
  n: u32,  // rows in the batch
  c: u32,  // classes (columns of logits)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> loss: array<f32>;       // (n) per-sample loss (as weighted by the caller)
@group(0) @binding(2) var<storage, read> logits: array<f32>;     // (n, c)
@group(0) @binding(3) var<storage, read> labels: array<u32>;     // (n)
@group(0) @binding(4) var<storage, read> weights: array<f32>;    // (n)
@group(0) @binding(5) var<storage, read_write> acc: array<f32>;  // (4) running totals

var<workgroup> part: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
  var s = vec4<f32>(0.0);
  for (var i = t; i < p.n; i += WG) {
    var best = 0u;
    for (var j = 1u; j < p.c; j++) {
      if (logits[i * p.c + j] > logits[i * p.c + best]) { best = j; }
    }
    s += vec4<f32>(loss[i], select(0.0, 1.0, best == labels[i]), 1.0, weights[i]);
  }
  part[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { part[t] += part[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    acc[0] += part[0].x;
    acc[1] += part[0].y;
    acc[2] += part[0].z;
    acc[3] += part[0].w;
  }
}
