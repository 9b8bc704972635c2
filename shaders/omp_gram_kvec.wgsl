// omp_gram_kvec — gathers the new atom's Gram entries with the active set from the column just
// computed: kvec[s] = kcols[sel[s], slot] = ⟨g_{sel[s]}, gⱼ⟩ for slots s < slot (0 for empty slots),
// and kvec[slot] = ⟨gⱼ, gⱼ⟩.
//
// State and Params: omp_common.wgsl (prepended).
//
// Mapping: one thread per slot s ≤ slot.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> kcols: array<f32>;          // (n, cap)
@group(0) @binding(2) var<storage, read> pick: array<u32>;           // (2)
@group(0) @binding(3) var<storage, read> ctl: array<u32>;            // (8)
@group(0) @binding(4) var<storage, read> sel: array<u32>;            // (cap)
@group(0) @binding(5) var<storage, read_write> kvec: array<f32>;     // (cap)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = gid.x;
  let j = pick[0];
  if (s > p.slot || ctl[0] != 0u || j == NONE) { return; }
  var row = j;
  if (s < p.slot) { row = sel[s]; }
  if (row == NONE) { kvec[s] = 0.0; return; }
  kvec[s] = kcols[row * p.cap + p.slot];
}
