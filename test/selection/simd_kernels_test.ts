import assert from "node:assert/strict";
import { Arena, arenaWith } from "../../src/selection/simd_kernels.ts";
import { plainAlgebra, rowAlgebra, simdAlgebra } from "../../src/selection/row_algebra.ts";
import { Rng } from "../../src/util/rng.ts";

// Lengths around the loops' 8-entry turn and 4-entry axpy step, a prime, and an empty one.
const LENGTHS = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 127, 1031];

/**
 * |computed − exact| ≤ 2·n·u·Σ|aᵢbᵢ| + 1e-300: a sum of n products in any order with unit roundoff u
 * (2⁻⁵³ in float64, where products of f32 are exact; 2⁻²⁴ for an f32 dot).
 */
function assertDot(what: string, got: number, a: ArrayLike<number>, b: ArrayLike<number>, u = 2 ** -53) {
  let exact = 0;
  let mag = 0;
  for (let i = 0; i < a.length; i++) {
    exact += a[i] * b[i];
    mag += Math.abs(a[i] * b[i]);
  }
  const tol = 2 * Math.max(1, a.length) * u * mag + 1e-300;
  assert.ok(Math.abs(got - exact) <= tol, `${what}: ${got} vs ${exact} (tol ${tol})`);
}

Deno.test("SIMD dots and axpy equal float64 loops (the f32 dot within f32 rounding) at awkward lengths and unaligned offsets", () => {
  const rng = new Rng(3);
  const arena = new Arena();
  for (const n of LENGTHS) {
    for (const shift of [0, 1, 3]) {
      const a = rng.normals(n);
      const b = rng.normals(n);
      const r = Float64Array.from(rng.normals(n), (x) => x * 1e3);
      // Offsets shifted by whole elements: the v128 loads are unaligned for shift ≠ 0 (mod 4).
      const ap = arena.alloc(4 * (n + shift)) + 4 * shift;
      const bp = arena.alloc(4 * (n + shift)) + 4 * shift;
      const rp = arena.alloc(8 * (n + shift)) + 8 * shift;
      arena.f32.set(a, ap / 4);
      arena.f32.set(b, bp / 4);
      arena.f64.set(r, rp / 8);
      const af64 = Float64Array.from(a);
      assertDot(`dotFD n=${n} shift=${shift}`, arena.fn.dotFD(ap, rp, n), af64, r);
      assertDot(`dotFF n=${n} shift=${shift}`, arena.fn.dotFF(ap, bp, n), af64, Float64Array.from(b));
      assertDot(
        `dotF32 n=${n} shift=${shift}`,
        arena.fn.dotF32(ap, bp, n),
        af64,
        Float64Array.from(b),
        2 ** -24,
      );
      // gainFD: Σ max(0, aᵢ − cᵢ), c = r/1000 (in a's range, so that about half the terms count).
      let gain = 0;
      let mag = 0;
      for (let i = 0; i < n; i++) {
        gain += Math.max(0, a[i] - r[i] / 1000);
        mag += Math.abs(a[i]) + Math.abs(r[i] / 1000);
      }
      const cp = arena.alloc(8 * n);
      arena.f64.set(r.map((x) => x / 1000), cp / 8);
      const gotGain = arena.fn.gainFD(ap, cp, n);
      assert.ok(
        Math.abs(gotGain - gain) <= 2 * (n + 1) * 2 ** -53 * mag,
        `gainFD n=${n}: ${gotGain} vs ${gain}`,
      );
      // Entries just past n are left alone by axpy, and each yᵢ + s·aᵢ is one rounding.
      const guard = rp + 8 * n;
      if (shift > 0) arena.f64[guard / 8] = 42;
      arena.fn.axpyFD(ap, -0.75, rp, n);
      const y = arena.f64.subarray(rp / 8, rp / 8 + n);
      for (let i = 0; i < n; i++) assert.equal(y[i], r[i] + -0.75 * a[i], `axpy n=${n} entry ${i}`);
      if (shift > 0) assert.equal(arena.f64[guard / 8], 42, `axpy n=${n} wrote past its end`);
    }
  }
  assert.equal(arena.fn.dotFD(16, 16, 0), 0);
});

Deno.test("SIMD arena: regions past the first page grow the memory and the views follow", () => {
  const arena = new Arena();
  const before = arena.fn.memory.buffer.byteLength;
  const n = 300_000; // 1.2 MB of f32: past the first 64 KiB page
  const p = arena.alloc(4 * n);
  assert.equal(p % 16, 0);
  assert.ok(arena.fn.memory.buffer.byteLength > before);
  const a = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
  arena.f32.set(a, p / 4);
  const q = arena.alloc(4 * n); // grows again: f32 must be re-made over the new buffer
  arena.f32.set(a, q / 4);
  let exact = 0;
  for (let i = 0; i < n; i++) exact += a[i] * a[i];
  assert.equal(arena.fn.dotFF(p, q, n), exact); // small integers: exact in any order
});

Deno.test("row algebra: the SIMD and plain implementations agree on a dense problem", () => {
  const rng = new Rng(5);
  const [n, d, cap] = [57, 37, 9]; // d not a multiple of 4 or 8
  const g = rng.normals(n * d);
  const cpu = { kind: "dense" as const, g, n, d };
  const [s, p] = [simdAlgebra(cpu, cap)!, plainAlgebra(cpu, cap)];
  assert.equal(rowAlgebra(cpu, cap).kind, "simd");
  assert.equal(rowAlgebra(cpu, cap, false).kind, "plain");
  const close = (what: string, x: number, y: number) =>
    assert.ok(Math.abs(x - y) <= 1e-12 * (1 + Math.abs(y)), `${what}: ${x} vs ${y}`);
  for (let c = 0; c < d; c++) close(`b[${c}]`, s.b[c], p.b[c]);
  for (const [i, j] of [[0, 0], [3, 56], [56, 17]]) close(`gram ${i},${j}`, s.gram(i, j), p.gram(i, j));
  for (const i of [0, 11, 56]) close(`dotB ${i}`, s.dotB(i), p.dotB(i));
  const r = Float64Array.from(rng.normals(d));
  s.bind(r);
  p.bind(r);
  for (const i of [0, 1, 29, 56]) close(`score ${i}`, s.score(i), p.score(i));
  // Guess scores: an f32 dot in SIMD, within f32 rounding of the float64 score.
  s.bindGuess(r);
  for (const i of [0, 1, 29, 56]) {
    let mag = 0;
    for (let c = 0; c < d; c++) mag += Math.abs(g[i * d + c] * r[c]);
    assert.ok(Math.abs(s.guessScore(i) - p.score(i)) <= 2 * d * 2 ** -24 * mag, `guess score ${i}`);
  }
  const picks = [40, 2, 33, 18].map((row, slot) => ({ row, slot }));
  for (const x of picks) [s, p].forEach((alg) => alg.keep(x.slot, x.row));
  const sc = s.column(picks.slice(0, 3), 33);
  const pc = p.column(picks.slice(0, 3), 33);
  sc.forEach((v, m) => close(`column ${m}`, v, pc[m]));
  close("column entry = gram", sc[2], p.gram(33, 33));
  const coeffs = [0.5, -1.25, 2, 0.125];
  const [sr, pr] = [s.residual(picks, coeffs), p.residual(picks, coeffs)];
  for (let c = 0; c < d; c++) close(`residual[${c}]`, sr[c], pr[c]);
  // The residual is a fresh array: a later one does not change it.
  const keep = sr.slice();
  s.residual(picks.slice(0, 1), [1]);
  assert.deepEqual(sr, keep);
});

Deno.test("row algebra: the SIMD and plain implementations agree on factored rows, with and without bias", () => {
  const rng = new Rng(6);
  for (const bias of [true, false]) {
    const [n, c, dh] = [23, 3, 13];
    const e = rng.normals(n * c);
    e[5 * c + 1] = 0; // a zero error entry is skipped by both
    const cpu = { kind: "factored" as const, e, h: rng.normals(n * dh), n, c, dh, bias };
    const [s, p] = [rowAlgebra(cpu, 8), plainAlgebra(cpu, 8)];
    assert.equal(s.kind, "simd");
    const close = (what: string, x: number, y: number) =>
      assert.ok(Math.abs(x - y) <= 1e-12 * (1 + Math.abs(y)), `bias=${bias} ${what}: ${x} vs ${y}`);
    const d = c * dh + (bias ? c : 0);
    assert.equal(s.b.length, d);
    for (let k = 0; k < d; k++) close(`b[${k}]`, s.b[k], p.b[k]);
    for (const i of [0, 5, 22]) close(`dotB ${i}`, s.dotB(i), p.dotB(i));
    const r = Float64Array.from(rng.normals(d));
    s.bind(r);
    p.bind(r);
    for (const i of [0, 5, 13, 22]) close(`score ${i}`, s.score(i), p.score(i));
    const picks = [7, 5, 19].map((row, slot) => ({ row, slot }));
    const [sc, pc] = [s.column(picks, 11), p.column(picks, 11)];
    sc.forEach((v, m) => close(`column ${m}`, v, pc[m]));
    const [sr, pr] = [s.residual(picks, [1.5, -0.5, 0.25]), p.residual(picks, [1.5, -0.5, 0.25])];
    for (let k = 0; k < d; k++) close(`residual[${k}]`, sr[k], pr[k]);
  }
});

Deno.test("arenaWith: regions at 16-byte offsets, or null past 2 GiB (the callers' plain loops)", () => {
  const got = arenaWith([100, 8, 0, 4096]);
  assert.ok(got);
  assert.ok(got.at.every((o) => o % 16 === 0));
  assert.deepEqual(got.at, [...got.at].sort((a, b) => a - b));
  assert.ok(got.at[1] >= got.at[0] + 100 && got.at[3] >= got.at[2]);
  assert.ok(got.arena.fn.memory.buffer.byteLength >= got.at[3] + 4096);
  assert.equal(arenaWith([2 ** 30, 2 ** 30]), null);
});
