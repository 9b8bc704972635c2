// register_tiles — the dispatch shared by the register-blocked kernels for CPU adapters: pairwise.wgsl,
// factor_gram.wgsl and matmul_blocked.wgsl (their wrappers prepend this file). A workgroup of WG lanes
// owns a tile of TM = 16 rows × CL·WG columns of the output; lane l of the tile starting at column c0
// computes the rows' entries at columns c0 + l + WG·v (v < CL) in `tile(row0, c0 + l)`, which each kernel
// defines with its own `p.m` (rows) and `p.n` (columns). Tiles past the dispatch grid
// (maxComputeWorkgroupsPerDimension) are walked by grid-stride loops, so the wrapper may clamp the grid.

const TM: u32 = 16u;  // rows per tile, shared by the workgroup's lanes
const CL: u32 = 8u;   // columns per lane
override WG: u32 = 8u;  // lanes per workgroup: one AVX2 SIMD group on lavapipe

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row_tiles = (p.m + TM - 1u) / TM;
  let col_tiles = (p.n + CL * WG - 1u) / (CL * WG);
  for (var ty = wg.y; ty < row_tiles; ty += nwg.y) {
    for (var tx = wg.x; tx < col_tiles; tx += nwg.x) { tile(ty * TM, tx * CL * WG + lid.x); }
  }
}
