// omp_collect — after one correlation pass of the hybrid OMP (src/selection/omp_hybrid.ts), the two
// short lists the CPU needs from it, so that no per-row data has to be read back:
//   window  every unmasked row that could be the exact (float64) argmax of the pass: its f32
//           correlation plus its rounding bound is positive and reaches the f32 winner's value minus
//           the winner's bound. The CPU re-evaluates these rows in float64 and takes the best, so the
//           pick is the float64 OMP's, whatever f32 rounding did to near-ties.
//   pool    the strongest unmasked rows (the top of a histogram of v/v*, see below): the candidates
//           the CPU scores in float64 to guess the next picks and run ahead of the GPU. A guess only:
//           a wrong one costs a wasted pass, never a different result.
// Two entry points, in order after masked_argmax, whose (index, value bits) winner has been copied to
// out[base], out[base + 1]:
//   hist     counts the positive unmasked rows by level l = ⌊−scale·log₂(v/v*)⌋ clamped to [0, 63]
//            (steps of 1/scale octave below the winner's value v*; the CPU adapts scale to how tightly
//            the values bunch under the winner);
//   collect  takes the largest L whose levels 0..L hold at most POOL rows and stores exactly those rows
//            in the pool (a deterministic set), and stores the window.
// The rounding bound of row i is slack·norms[i] (norms: ‖gᵢ‖; slack = γ‖r‖ from the CPU). A window of
// more than WINDOW rows is counted but not stored; the CPU then falls back to the f32 winner.
//
// Shapes: corr, norms (n) f32; mask (n) u32 (nonzero = chosen); out u32 from base:
// [winner, winner bits, window count, pool count, window (WINDOW), pool (POOL), histogram (64)].

override WG: u32 = 256u;
override WINDOW: u32 = 128u;
override POOL: u32 = 512u;
const NONE: u32 = 0xFFFFFFFFu;
const LEVELS: u32 = 64u;

struct Params {
  n: u32,        // rows
  base: u32,     // first word of this pass's record in out
  slack: f32,    // rounding bound of corr per unit of ‖gᵢ‖
  scale: f32,    // histogram levels per octave
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> corr: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<atomic<u32>>;

fn row(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.y * nwg.x + wg.x) * WG + li;
}

// Level of a positive value v below the winner's value top (> 0).
fn level(v: f32, top: f32) -> u32 {
  let l = floor(-p.scale * log2(v / top));
  return u32(clamp(l, 0.0, f32(LEVELS - 1u)));
}

@compute @workgroup_size(WG)
fn hist(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = row(wg, nwg, li);
  if (i >= p.n || mask[i] != 0u || atomicLoad(&out[p.base]) == NONE) { return; }
  let v = corr[i];
  if (v > 0.0) {
    let top = bitcast<f32>(atomicLoad(&out[p.base + 1u]));
    atomicAdd(&out[p.base + 4u + WINDOW + POOL + level(v, top)], 1u);
  }
}

var<workgroup> cut: i32;  // the pool's deepest level, found once per workgroup

@compute @workgroup_size(WG)
fn collect(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  // The deepest level that keeps the pool within POOL rows (−1: even level 0 does not fit).
  if (li == 0u) {
    var cum = 0u;
    var deepest = -1;
    for (var l = 0u; l < LEVELS; l++) {
      cum += atomicLoad(&out[p.base + 4u + WINDOW + POOL + l]);
      if (cum > POOL) { break; }
      deepest = i32(l);
    }
    cut = deepest;
  }
  let deepest = workgroupUniformLoad(&cut);
  let i = row(wg, nwg, li);
  if (i >= p.n || mask[i] != 0u) { return; }
  let v = corr[i];
  let j = atomicLoad(&out[p.base]);
  var least = 0.0;
  var top = 0.0;
  if (j != NONE) {
    top = bitcast<f32>(atomicLoad(&out[p.base + 1u]));
    least = top - p.slack * norms[j];
  }
  let hi = v + p.slack * norms[i];
  if (hi > 0.0 && hi >= least) {
    let at = atomicAdd(&out[p.base + 2u], 1u);
    if (at < WINDOW) { atomicStore(&out[p.base + 4u + at], i); }
  }
  if (j != NONE && v > 0.0 && i32(level(v, top)) <= deepest) {
    let at = atomicAdd(&out[p.base + 3u], 1u);
    if (at < POOL) { atomicStore(&out[p.base + 4u + WINDOW + at], i); }
  }
}
