// gather_rows — out[i, :] = x[index[i], :]: picks rows of a matrix by index (a class's rows, a subset's
// rows) without a trip through the CPU.
//
// Mapping: one thread per output element; the linear element id is folded over a 2-D grid
// ((wg.y · num_workgroups.x + wg.x) · WG + local index) so that large outputs fit the dispatch limit.
// Indices must be < rows of x (the wrapper checks them on the CPU where they come from).

override WG: u32 = 256u;

struct Params {
  m: u32,     // rows gathered (length of index)
  cols: u32,  // columns of x and out
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n, cols)
@group(0) @binding(2) var<storage, read> index: array<u32>;      // (m)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // (m, cols)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = (wg.y * nwg.x + wg.x) * WG + li;
  if (e >= p.m * p.cols) { return; }
  let row = e / p.cols;
  let col = e % p.cols;
  out[e] = x[index[row] * p.cols + col];
}
