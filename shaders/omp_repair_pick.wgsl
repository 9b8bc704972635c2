// omp_repair_pick — the non-negativity step (CORDS's repair): find the active slot with the most
// negative coefficient (lowest slot on ties); if there is one, record it in ctl[2] and copy its column
// of A⁻¹ into w for omp_downdate, else set ctl[2] = none. It also writes the indirect dispatch grids of
// the repair's downdate and re-solve — all zero when nothing is dropped, so that the common case costs
// no work at all (and no read-back to find out). With COUNT_ONLY it only counts, in ctl[4],
// an iteration that still has a negative coefficient after the repair passes.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: a single workgroup; WG threads stride over the slots and tree-reduce (value, slot).

override COUNT_ONLY: bool = false;
const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ainv: array<f32>;          // (cap, cap)
@group(0) @binding(2) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(3) var<storage, read> coef: array<f32>;          // (cap)
@group(0) @binding(4) var<storage, read_write> ctl: array<u32>;     // (8)
@group(0) @binding(5) var<storage, read_write> w: array<f32>;       // (cap)
@group(0) @binding(6) var<storage, read_write> args: array<u32>;    // (8): [0..3) downdate grid, [3..6) solve grid

var<workgroup> vals: array<f32, WG>;
var<workgroup> slots: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
  var best = 0.0;
  var at = NONE;
  for (var a = t; a <= p.slot; a += WG) {
    if (sel[a] != NONE && coef[a] < best) {
      best = coef[a];
      at = a;
    }
  }
  vals[t] = best;
  slots[t] = at;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) {
      let v = vals[t + half];
      let s = slots[t + half];
      if (v < vals[t] || (v == vals[t] && s < slots[t])) {
        vals[t] = v;
        slots[t] = s;
      }
    }
    workgroupBarrier();
  }
  let q = workgroupUniformLoad(&slots[0]);
  if (COUNT_ONLY) {
    if (t == 0u && q != NONE) { ctl[4] += 1u; }
    return;
  }
  if (t == 0u) {
    ctl[2] = q;
    let side = p.slot + 1u;
    let live = select(0u, 1u, q != NONE);
    args[0] = live * ((side + WG - 1u) / WG);
    args[1] = live * side;
    args[2] = live;
    args[3] = live * ((side + WG - 1u) / WG);
    args[4] = live;
    args[5] = live;
  }
  if (q == NONE) { return; }
  for (var a = t; a <= p.slot; a += WG) { w[a] = ainv[a * p.cap + q]; }
}
