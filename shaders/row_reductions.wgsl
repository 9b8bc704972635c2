// row_reductions — shared by softmax.wgsl, cross_entropy.wgsl and reduce_rows.wgsl, prepended to each by its
// wrapper (WGSL has no include): one workgroup reduces one row; WG is the including kernel's workgroup size (a
// power of two, an override constant there).

var<workgroup> red: array<f32, WG>;  // (WG): one partial per thread

// Tree reductions: log2(WG) halvings leave the combination of all WG partials in red[0].
fn reduce_max(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();  // every thread has read red[0] before the next reduction overwrites it
  return r;
}

fn reduce_sum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
