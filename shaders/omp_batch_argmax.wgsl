// omp_batch_argmax — finishes the argmax of every column of an omp_rowdot_f16_batch dispatch from the
// per-lane partials it left (best: (cols, lanes, 2) of (key, row), key the f32 bits of a positive
// correlation, 0 for none). One workgroup per column writes its record's first two words, as
// masked_argmax (positive only) and a copy would: out[col·stride] = the row (lowest on equal values) or
// NONE, out[col·stride + 1] = its value's bits (0 for NONE).

const WG: u32 = 64u;
const NONE: u32 = 0xFFFFFFFFu;

struct Params {
  cols: u32,    // columns of the batch
  lanes: u32,   // partials per column
  stride: u32,  // words per record in out
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> best: array<u32>;        // (cols, lanes, 2)
@group(0) @binding(2) var<storage, read_write> out: array<u32>;   // (cols, stride)

var<workgroup> keys: array<u32, WG>;
var<workgroup> rows: array<u32, WG>;

fn beats(kb: u32, ib: u32, ka: u32, ia: u32) -> bool {
  return kb > ka || (kb == ka && ib < ia);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let col = wg.x;
  var k = 0u;
  var at = NONE;
  for (var l = t; l < p.lanes; l += WG) {
    let o = 2u * (col * p.lanes + l);
    if (beats(best[o], best[o + 1u], k, at)) {
      k = best[o];
      at = best[o + 1u];
    }
  }
  keys[t] = k;
  rows[t] = at;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s && beats(keys[t + s], rows[t + s], keys[t], rows[t])) {
      keys[t] = keys[t + s];
      rows[t] = rows[t + s];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[col * p.stride] = select(rows[0], NONE, keys[0] == 0u);
    out[col * p.stride + 1u] = keys[0];
  }
}
