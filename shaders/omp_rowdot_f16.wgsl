// omp_rowdot_f16 — the hybrid OMP's correlation pass over a dense gradient matrix stored in f16
// (src/selection/omp_hybrid.ts): corr[i] = ⟨g̃ᵢ, r⟩ with g̃ the f16 copy of g (rows padded with zeros to
// DP = 4·⌈d/4⌉) and r an f32 residual, accumulated in f32. Half the bytes of the f32 pass: the pass is
// bound by memory, and a 10,000 × 1,024 matrix (20 MB) then fits lavapipe's host L3 cache.
//
// f16 moves each correlation by at most Σ_c |g̃ᵢc − gᵢc|·|r_c| ≤ 2⁻¹¹‖gᵢ‖‖r‖ (+ a subnormal floor); the
// caller widens omp_collect's window by that bound and re-checks the window in float64 on the original
// f32 rows, so the picks do not depend on the rounding.
//
// State and Params: omp_common.wgsl (prepended, after the `enable f16;` directive the wrapper puts
// first: WGSL wants directives before every declaration); d = DP here.
//
// Mapping as omp_rowdot: LANES = 8 consecutive invocations share one row, lane l reading the vec4s
// l + 8·m (8 bytes each: one contiguous 64-byte load across the lanes); partial sums meet in workgroup
// memory.

override WG: u32 = 256u;
const LANES: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<vec4<f16>>;       // (n, DP / 4)
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;       // (DP / 4) r
@group(0) @binding(3) var<storage, read_write> corr: array<f32>;    // (n)

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = (wg.y * nwg.x + wg.x) * (WG / LANES) + li / LANES;
  let lane = li % LANES;
  let live = row < p.n;
  let q = p.d / 4u;
  var acc = 0.0;
  if (live) {
    for (var c = lane; c < q; c += LANES) { acc += dot(vec4<f32>(g[row * q + c]), x[c]); }
  }
  part[li] = acc;
  workgroupBarrier();
  if (lane == 0u && live) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += part[li + l]; }
    corr[row] = s;
  }
}
