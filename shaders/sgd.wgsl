// sgd — one step of SGD with momentum (optionally Nesterov) and decoupled-from-nothing L2 weight decay,
// in place on a parameter tensor, the way PyTorch's torch.optim.SGD defines it:
//   g ← ∇ + wd·w;   v ← μ·v + g;   update = g + μ·v (Nesterov) or v;   w ← w − lr·update.
// With μ = 0 this is plain SGD (v is still written, harmlessly).
//
// Mapping: one thread per parameter element; the dispatch is folded into 2-D when it exceeds 65535
// workgroups, so the element index is (wg.y · num_workgroups.x + wg.x) · 256 + local index.

override WG: u32 = 256u;

struct Params {
  n: u32,             // elements in the parameter tensor
  lr: f32,            // learning rate of this step
  momentum: f32,      // μ
  weight_decay: f32,  // wd (L2 coefficient added to the gradient)
  nesterov: u32,      // 1: Nesterov momentum
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;            // (n)
@group(0) @binding(2) var<storage, read_write> w: array<f32>;         // (n) parameters, updated in place
@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;  // (n) momentum buffer

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let g = grad[i] + p.weight_decay * w[i];
  let v = p.momentum * velocity[i] + g;
  velocity[i] = v;
  var update = v;
  if (p.nesterov != 0u) { update = g + p.momentum * v; }
  w[i] = w[i] - p.lr * update;
}
