// omp_rowdot — the dense OMP's two passes over rows of g, as one cooperative kernel:
//   CORR (KVEC = false): corr[i] = ⟨gᵢ, r⟩ for every candidate row i < n (the O(n·d) pass)
//   KVEC (KVEC = true):  kvec[s] = ⟨g_{sel[s]}, gⱼ⟩ for slots s < slot (0 for empty slots) and
//                        kvec[slot] = ‖gⱼ‖², with j = pick[0]
// Skipped once stopped (and, for KVEC, when nothing was picked).
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: LANES = 8 consecutive invocations share one row (lavapipe packs 8 invocations into one SIMD
// vector, so lane l reading column l + 8·m makes each step one contiguous 32-byte load); a workgroup of WG
// threads covers WG / LANES rows; each row's 8 partial sums meet in workgroup memory. Rows are folded
// over a 2-D grid. (One thread per row made every step a gather of 8 rows: 2–3× slower here.)

override WG: u32 = 256u;
override KVEC: bool = false;
const LANES: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;             // (n, d)
@group(0) @binding(2) var<storage, read> x: array<f32>;             // (d) r (CORR); unused for KVEC
@group(0) @binding(3) var<storage, read> pick: array<u32>;          // (2)
@group(0) @binding(4) var<storage, read> ctl: array<u32>;           // (8)
@group(0) @binding(5) var<storage, read> sel: array<u32>;           // (cap)
@group(0) @binding(6) var<storage, read_write> out: array<f32>;     // (n) corr or (cap) kvec

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let item = (wg.y * nwg.x + wg.x) * (WG / LANES) + li / LANES;
  let lane = li % LANES;
  let j = pick[0];
  var count = p.n;
  if (KVEC) { count = p.slot + 1u; }
  var live = item < count && ctl[0] == 0u && (!KVEC || j != NONE);
  var row = item;
  if (KVEC && live) {
    row = j;
    if (item < p.slot) { row = sel[item]; }
  }
  var acc = 0.0;
  if (live && row != NONE) {
    if (KVEC) {
      for (var c = lane; c < p.d; c += LANES) { acc += g[row * p.d + c] * g[j * p.d + c]; }
    } else {
      for (var c = lane; c < p.d; c += LANES) { acc += g[row * p.d + c] * x[c]; }
    }
  }
  part[li] = acc;
  workgroupBarrier();
  if (lane == 0u && live) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += part[li + l]; }
    out[item] = s;
  }
}
