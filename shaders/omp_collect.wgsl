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

override WG: u32 = 256u;  // ≥ LEVELS: hist clears and adds one level per lane
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

// A workgroup counts in workgroup memory and adds its counts to out once, and reads the winner once: on
// lavapipe a workgroup runs on one thread, so its own atomics are plain memory operations, while each
// global one contends with the other core (hist + collect at n = 10,000: 0.37 → 0.28 ms per column).
var<workgroup> bins: array<atomic<u32>, LEVELS>;  // hist: this workgroup's rows per level
var<workgroup> taken: array<atomic<u32>, 2>;      // collect: this workgroup's window and pool rows
var<workgroup> first: array<u32, 2>;              // collect: where they start in the lists
var<workgroup> cut: i32;                          // collect: the pool's deepest level
var<workgroup> winner: vec2<u32>;                 // the pass's winner and its value's bits, read once

// The pass's winner (row or NONE) and its value's bits, as masked_argmax or omp_batch_argmax left them.
fn pass_winner() -> vec2<u32> {
  return vec2<u32>(atomicLoad(&out[p.base]), atomicLoad(&out[p.base + 1u]));
}

@compute @workgroup_size(WG)
fn hist(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  if (li < LEVELS) { atomicStore(&bins[li], 0u); }
  if (li == 0u) { winner = pass_winner(); }
  let won = workgroupUniformLoad(&winner);
  let i = row(wg, nwg, li);
  if (i < p.n && mask[i] == 0u && won.x != NONE) {
    let v = corr[i];
    if (v > 0.0) { atomicAdd(&bins[level(v, bitcast<f32>(won.y))], 1u); }
  }
  workgroupBarrier();
  if (li < LEVELS) {
    let c = atomicLoad(&bins[li]);
    if (c > 0u) { atomicAdd(&out[p.base + 4u + WINDOW + POOL + li], c); }
  }
}

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
    winner = pass_winner();
    atomicStore(&taken[0], 0u);
    atomicStore(&taken[1], 0u);
  }
  let deepest = workgroupUniformLoad(&cut);
  let won = workgroupUniformLoad(&winner);
  let i = row(wg, nwg, li);
  var inWindow = false;
  var inPool = false;
  if (i < p.n && mask[i] == 0u) {
    let v = corr[i];
    let j = won.x;
    var least = 0.0;
    var top = 0.0;
    if (j != NONE) {
      top = bitcast<f32>(won.y);
      least = top - p.slack * norms[j];
    }
    let hi = v + p.slack * norms[i];
    inWindow = hi > 0.0 && hi >= least;
    inPool = j != NONE && v > 0.0 && i32(level(v, top)) <= deepest;
  }
  // Each list's rows: a slot in this workgroup's run, the run reserved in out once.
  var w = 0u;
  var q = 0u;
  if (inWindow) { w = atomicAdd(&taken[0], 1u); }
  if (inPool) { q = atomicAdd(&taken[1], 1u); }
  workgroupBarrier();
  if (li == 0u) {
    first[0] = atomicAdd(&out[p.base + 2u], atomicLoad(&taken[0]));
    first[1] = atomicAdd(&out[p.base + 3u], atomicLoad(&taken[1]));
  }
  workgroupBarrier();
  if (inWindow && first[0] + w < WINDOW) { atomicStore(&out[p.base + 4u + first[0] + w], i); }
  if (inPool && first[1] + q < POOL) { atomicStore(&out[p.base + 4u + WINDOW + first[1] + q], i); }
}
