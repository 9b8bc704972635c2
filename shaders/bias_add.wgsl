// bias_add — out[i, j] = x[i, j] + bias[j]: a linear layer's bias, broadcast over the rows.
//
// Shapes (row-major f32): x and out are (n, c), bias is (c).
//
// Mapping: one thread per element of out, WG threads per workgroup; element e is row e / c, column
// e % c. The grid is folded into (x, y) when it exceeds the 65535 workgroups one dimension allows: the
// flat workgroup id is wg.x + wg.y · num_workgroups.x, and threads past the last element do nothing.
//
// Two entry points, because WebGPU cannot bind one buffer both read-only and writable in a dispatch:
//   main      out = x + bias, out a separate buffer;
//   in_place  x += bias, with x bound once, read-write.
// Each entry point declares its own bindings (params, inputs, outputs). bias is binding 1 in both; x is
// binding 2 in both, read-only in main and read-write in in_place (the two never meet in one pipeline).

const WG: u32 = 256u;  // threads per workgroup

struct Params {
  size: u32,  // elements of x: n · c
  c: u32,     // columns: the length of bias
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;        // (c)
@group(0) @binding(2) var<storage, read> x: array<f32>;           // (n, c), main only
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // (n, c), main only
@group(0) @binding(2) var<storage, read_write> xio: array<f32>;   // (n, c), in_place: x, then out

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let e = (wg.x + wg.y * nwg.x) * WG + t;
  if (e >= p.size) { return; }
  out[e] = x[e] + bias[e % p.c];
}

@compute @workgroup_size(WG)
fn in_place(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) t: u32) {
  let e = (wg.x + wg.y * nwg.x) * WG + t;
  if (e >= p.size) { return; }
  xio[e] = xio[e] + bias[e % p.c];
}
