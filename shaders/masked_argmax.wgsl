// masked_argmax — the best candidate of a vector: the lowest i maximising v[i] over the i with
// mask[i] = 0, and only v[i] > 0 when POSITIVE_ONLY. OMP (GRAD-MATCH) uses it to pick its next atom:
// the unchosen sample whose gradient correlates most with the residual, stopping when none is positive.
//
// Values are compared as u32 keys: for f32 bits b, key = b | 0x80000000 when the sign is clear, ~b when
// it is set. The map is order-preserving (−∞ < … < −0 < +0 < … < +∞ become increasing integers), −0 is
// first turned into +0 so that the two compare equal, and every key of a number is ≥ 1, so key 0 stands
// for "no candidate" (masked, NaN, or ≤ 0 when POSITIVE_ONLY). v > 0 exactly when key > 0x80000000.
// Working on bits keeps NaN and −0 out of float comparisons, which WGSL leaves loosely specified.
//
// Two passes, in order within one compute pass:
//   partial   G ≤ 1024 workgroups of WG threads walk v with a grid stride; each thread keeps its best
//             (key, index), each workgroup tree-reduces its threads' and writes one partial.
//   finish    one workgroup reduces the G partials and writes (index, v[index]) to out.
// Pairs are ranked by key, then by lower index; that order is total, so the winner is the same however
// the work is split or scheduled, and ties go to the lowest index.
//
// Shapes: v (n) f32, read as raw bits; mask (n) u32, nonzero = excluded; partials (G, 2) u32 as
// (key, index); out (2) u32 = (index, f32 bits of v[index]), or (0xFFFFFFFF, 0) with no candidate.

override POSITIVE_ONLY: bool = false;

const WG: u32 = 256u;          // threads per workgroup
const NONE: u32 = 0xFFFFFFFFu;  // index of "no candidate"

struct Params {
  n: u32,       // length of v and mask
  groups: u32,  // G: workgroups of the partials pass, rows of partials
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<u32>;                // (n) f32 bits
@group(0) @binding(2) var<storage, read> mask: array<u32>;             // (n)
@group(0) @binding(3) var<storage, read_write> partials: array<u32>;   // (G, 2): key, index
@group(0) @binding(4) var<storage, read_write> out: array<u32>;        // (2): index, value bits

var<workgroup> keys: array<u32, WG>;  // (WG): each thread's best key
var<workgroup> idxs: array<u32, WG>;  // (WG): and its index

fn key_of(i: u32) -> u32 {
  if (mask[i] != 0u) { return 0u; }
  var b = v[i];
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0u; }  // NaN is never a candidate
  if (b == 0x80000000u) { b = 0u; }                     // −0 ranks as +0
  let key = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  if (POSITIVE_ONLY && key <= 0x80000000u) { return 0u; }
  return key;
}

// Does (kb, ib) rank above (ka, ia)? Higher key first, then lower index.
fn beats(kb: u32, ib: u32, ka: u32, ia: u32) -> bool {
  return kb > ka || (kb == ka && ib < ia);
}

// Tree reduction of the WG pairs in keys/idxs; returns the winner.
fn reduce_best(key: u32, index: u32, t: u32) -> vec2<u32> {
  keys[t] = key;
  idxs[t] = index;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s && beats(keys[t + s], idxs[t + s], keys[t], idxs[t])) {
      keys[t] = keys[t + s];
      idxs[t] = idxs[t + s];
    }
    workgroupBarrier();
  }
  return vec2<u32>(keys[0], idxs[0]);
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
  var best = 0u;
  var at = NONE;
  // Indices rise along the walk, so a strict > keeps the first of equal keys.
  for (var i = wg.x * WG + t; i < p.n; i += nwg.x * WG) {
    let k = key_of(i);
    if (k > best) { best = k; at = i; }
  }
  let r = reduce_best(best, at, t);
  if (t == 0u) {
    partials[2u * wg.x] = r.x;
    partials[2u * wg.x + 1u] = r.y;
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) t: u32) {
  var best = 0u;
  var at = NONE;
  for (var g = t; g < p.groups; g += WG) {
    if (beats(partials[2u * g], partials[2u * g + 1u], best, at)) {
      best = partials[2u * g];
      at = partials[2u * g + 1u];
    }
  }
  let r = reduce_best(best, at, t);
  if (t == 0u) {
    out[0] = select(r.y, NONE, r.x == 0u);
    out[1] = 0u;
    if (r.x != 0u) { out[1] = v[r.y]; }  // v[index] itself, −0 included
  }
}
