// reduce_cols — column sums: out[j] = Σ_i x[i, j] (+ out[j] when accumulating), e.g. a bias gradient
// db = Σ_i dlogits[i, :] over a batch.
//
// Shapes: x (n, c) f32 row-major; out (c) f32.
//
// Mapping: a workgroup owns COLS adjacent columns and gives each LANES threads; the thread at
// (column q, lane l) sums rows l, l + LANES, …, so each step of the walk reads COLS adjacent floats per
// lane. The LANES partials of a column are then added in lane order. The order is fixed, so the result
// is deterministic. Column tiles past 65535 fold into (x, y): tile = wg.x + wg.y · num_workgroups.x.
// All rows go through one workgroup's threads, which suits the batch-sized n this is used on.
//
// `accumulate` lets the wrapper sum x in row chunks (bindings are limited in size): the first chunk
// writes, later ones add.

const COLS: u32 = 16u;   // columns per workgroup
const LANES: u32 = 16u;  // threads per column, each summing every LANES-th row

struct Params {
  n: u32,           // rows
  c: u32,           // columns
  accumulate: u32,  // 0: out = Σ; 1: out += Σ
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n, c)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (c)

var<workgroup> part: array<f32, 256>;  // (LANES, COLS): one partial per thread

@compute @workgroup_size(16, 16)  // (COLS, LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = (wg.x + wg.y * nwg.x) * COLS + lid.x;
  var s = 0.0;
  if (col < p.c) {
    for (var r = lid.y; r < p.n; r += LANES) { s += x[r * p.c + col]; }
  }
  part[lid.y * COLS + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < p.c) {
    var total = 0.0;
    for (var l = 0u; l < LANES; l++) { total += part[l * COLS + lid.x]; }
    if (p.accumulate != 0u) { total += out[col]; }
    out[col] = total;
  }
}
