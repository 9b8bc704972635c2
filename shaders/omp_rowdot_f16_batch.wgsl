// omp_rowdot_f16_batch — the hybrid OMP's correlation passes over a dense gradient matrix stored in f16,
// for a batch of residuals at once (src/selection/omp_hybrid.ts): the CPU guesses several picks ahead,
// and one dispatch computes the correlations with every guessed residual, reading g once per MC of them:
//   corr[m, i] = ⟨g̃ᵢ, r_m⟩   for the columns m < cols, accumulated in f32,
// with g̃ the f16 copy of g. A row chosen before column m — lvl[i] ≠ 0 and m ≥ lvl[i] − 1 — gets −FLT_MAX
// instead, so masked_argmax (positive only) and omp_collect pass over it: column m sees the rows of
// every pick committed (lvl 1) and of the guesses made before it (lvl m' + 2 for the guess made after
// column m'), which is what one pass per iteration with the mask updated in between would see.
//
// f16 moves each correlation by at most Σ_c |g̃ᵢc − gᵢc|·|r_c| ≤ (2⁻¹¹‖gᵢ‖ + 2⁻¹⁴√d)‖r‖ (the caller
// flushes the copy's subnormals to zero, so no adapter's handling of them matters); the caller widens omp_collect's window by that bound and re-checks the window in float64 on the original
// rows, so the picks do not depend on the rounding.
//
// MC, the residual columns of one z-slice: 8, or 4 for the last ≤ 4 columns of a batch, whose dispatch
// starts at column col0.
//
// Each lane also leaves, per column, the best of its RB rows for omp_batch_argmax (which finishes the
// column's argmax from NP/RB partials instead of NP values): best[(col·NP/RB + lane)·2 ..] = (key,
// row), key the f32 bits of a positive correlation (positive f32 values order as their bits), 0 for
// none; the first of equal keys, rows rising with r.
//
// Layouts: g (Q, NP) vec4<u32>, g[c·NP + i] = g̃ᵢ[8c .. 8c + 7] as f16 pairs (low half first) —
// transposed, rows padded with zeros to NP (a multiple of RB·WG), features to 8Q; x (⌈cols/8⌉·8, 2Q)
// vec4<f32>, the residuals (columns past cols are read and ignored); lvl (n) u32; corr (cols, NP) f32.
// The f16 halves are unpacked with unpack2x16float, so the kernel needs no shader-f16.
//
// Mapping (as omp_factored_corr): a workgroup is WG = 8 lanes, one AVX2 SIMD group on lavapipe; lane l
// owns the RB = 8 rows block·RB·WG + r·WG + l (so each of its RB loads is contiguous across the lanes) and
// the MC columns of its z-slice, and keeps an RB × MC block of accumulators: per 8 features, RB 16-byte
// loads of g, 2·MC uniform loads of x and 2·RB·MC vec4 dots. MC and RB are constants the wrapper prepends
// and writes the //#unroll blocks out with (src/gpu/unroll.ts): the accumulators are RB·MC scalars, not
// an array, because lavapipe keeps a function-local array in memory (2.2× slower; 16-byte loads of 8
// halves instead of 8-byte vec4<f16> another 13 %; RB = 8, MC = 8 was the fastest of the RB × MC tried,
// bench/RESULTS.md).

override WG: u32 = 8u;
const MASKED: f32 = -3.4028234e38;

struct Params {
  n: u32,     // rows
  q: u32,     // 8-feature groups per row (features / 8, rounded up)
  np: u32,    // padded rows: the row stride of g and corr
  cols: u32,  // residuals in this batch
  col0: u32,  // first column of this dispatch
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<vec4<u32>>;     // (Q, NP)
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;     // (⌈cols/8⌉·8, 2Q)
@group(0) @binding(3) var<storage, read> lvl: array<u32>;         // (n)
@group(0) @binding(4) var<storage, read_write> corr: array<f32>;  // (cols, NP)
@group(0) @binding(5) var<storage, read_write> best: array<u32>;  // (cols, NP / RB, 2)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let block = wg.y * nwg.x + wg.x;
  let first = block * RB * WG + li;
  if (first >= p.np) { return; }  // a 2-D grid's spare workgroups
  let m0 = p.col0 + wg.z * MC;
  //#unroll r RB
  //#unroll m MC
  var a${r}_${m} = 0.0;
  //#end
  //#end
  let xs = 2u * p.q;  // vec4s per residual
  for (var c = 0u; c < p.q; c++) {
    //#unroll r RB
    let w${r} = g[c * p.np + first + ${r}u * WG];
    let lo${r} = vec4<f32>(unpack2x16float(w${r}.x), unpack2x16float(w${r}.y));
    let hi${r} = vec4<f32>(unpack2x16float(w${r}.z), unpack2x16float(w${r}.w));
    //#end
    //#unroll m MC
    let xl${m} = x[(m0 + ${m}u) * xs + 2u * c];
    let xh${m} = x[(m0 + ${m}u) * xs + 2u * c + 1u];
    //#unroll r RB
    a${r}_${m} += dot(lo${r}, xl${m}) + dot(hi${r}, xh${m});
    //#end
    //#end
  }
  var acc: array<array<f32, MC>, RB>;
  //#unroll r RB
  //#unroll m MC
  acc[${r}][${m}] = a${r}_${m};
  //#end
  //#end
  var key: array<u32, MC>;
  var at: array<u32, MC>;
  for (var m = 0u; m < MC; m++) { at[m] = 0xFFFFFFFFu; }
  for (var r = 0u; r < RB; r++) {
    let i = first + r * WG;
    if (i >= p.n) { continue; }
    let l = lvl[i];
    for (var m = 0u; m < MC; m++) {
      let col = m0 + m;
      if (col < p.cols) {
        let v = select(acc[r][m], MASKED, l != 0u && col + 1u >= l);
        corr[col * p.np + i] = v;
        let k = select(0u, bitcast<u32>(v), v > 0.0);  // NaN and −0 are not > 0
        if (k > key[m]) { key[m] = k; at[m] = i; }
      }
    }
  }
  let lane = block * WG + li;
  let lanes = p.np / RB;
  for (var m = 0u; m < MC; m++) {
    let col = m0 + m;
    if (col < p.cols) {
      best[2u * (col * lanes + lane)] = key[m];
      best[2u * (col * lanes + lane) + 1u] = at[m];
    }
  }
}
