// relu — the rectifier and its gradient, element-wise over a tensor of any shape:
//   forward   y = max(x, 0)
//   backward  dx = dy · [x > 0]   (the subgradient at x = 0 is taken as 0, as PyTorch does)
//
// Shapes (f32, flat): x, y, dy and dx all hold `size` elements.
//
// Mapping: one thread per element, WG threads per workgroup. The grid is folded into (x, y) when it
// exceeds the 65535 workgroups one dimension allows: the flat workgroup id is wg.x + wg.y ·
// num_workgroups.x, and threads past the last element do nothing.
//
// Each entry point declares its own bindings (params, inputs, outputs): x is binding 1 in both; binding
// 2 is y (written) in forward and dy (read) in backward, which never meet in one pipeline.

const WG: u32 = 256u;  // threads per workgroup

struct Params {
  size: u32,  // elements
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (size)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;    // (size), forward only
@group(0) @binding(2) var<storage, read> dy: array<f32>;         // (size), backward only
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;   // (size), backward only

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
  let e = (wg.x + wg.y * nwg.x) * WG + t;
  if (e >= p.size) { return; }
  y[e] = max(x[e], 0.0);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) t: u32) {
  let e = (wg.x + wg.y * nwg.x) * WG + t;
  if (e >= p.size) { return; }
  dx[e] = select(0.0, dy[e], x[e] > 0.0);
}
