import assert from "node:assert/strict";
import { Cholesky } from "../../src/selection/cholesky.ts";
import { choleskySolve } from "../../src/selection/omp_reference.ts";
import { Rng } from "../ref.ts";

/** A random SPD matrix of size m (Gram matrix of m random vectors in m + 3 dimensions, plus λI). */
function spd(rng: Rng, m: number, lambda = 0.5): Float64Array {
  const d = m + 3;
  const v = rng.normals(m * d);
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = i === j ? lambda : 0;
      for (let c = 0; c < d; c++) s += v[i * d + c] * v[j * d + c];
      a[i * m + j] = s;
    }
  }
  return a;
}

/** Solves with the incremental factor and with a fresh factorisation of the same rows. */
function bothSolves(chol: Cholesky, a: Float64Array, m: number, rows: number[], y: Float64Array) {
  const t = rows.length;
  const sub = new Float64Array(t * t);
  rows.forEach((r, i) => rows.forEach((c, j) => (sub[i * t + j] = a[r * m + c])));
  const yy = Float64Array.from(rows, (r) => y[r]);
  return [chol.solve(yy), choleskySolve(sub, t, yy)];
}

Deno.test("Cholesky mark/undo restores the factor exactly after appends and Givens removals", () => {
  for (const simd of [true, false]) markUndo(simd);
});

function markUndo(simd: boolean) {
  const rng = new Rng(3);
  const m = 12;
  const a = spd(rng, m);
  const y = Float64Array.from(rng.normals(m));
  const chol = new Cholesky(m, simd);
  let rows: number[] = [];
  const add = (r: number) => {
    assert.ok(chol.append(rows.map((s) => a[s * m + r]), a[r * m + r]));
    rows.push(r);
  };
  for (const r of [0, 1, 2, 3, 4, 5]) add(r);
  const [before] = bothSolves(chol, a, m, rows, y);
  const saved = rows.slice();
  const mark = chol.mark();
  add(6);
  chol.remove(2);
  rows = rows.filter((r) => r !== 2);
  add(7);
  chol.remove(0);
  rows = rows.filter((r) => r !== 0);
  const [inc, fresh] = bothSolves(chol, a, m, rows, y);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Math.abs(inc[i] - fresh[i]) <= 1e-9 * (1 + Math.abs(fresh[i])));
  }
  chol.undo(mark);
  chol.commit();
  rows = saved;
  assert.equal(chol.size, rows.length);
  const [after] = bothSolves(chol, a, m, rows, y);
  assert.deepEqual([...after], [...before], "bit-identical after undo");
  // The restored factor keeps working: append and remove again.
  add(8);
  chol.remove(1);
  rows = rows.filter((r) => r !== 1);
  const [inc2, fresh2] = bothSolves(chol, a, m, rows, y);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Math.abs(inc2[i] - fresh2[i]) <= 1e-9 * (1 + Math.abs(fresh2[i])));
  }
}

Deno.test("Cholesky commit(mark) keeps later marks undoable and refuses earlier ones", () => {
  for (const simd of [true, false]) partialCommit(simd);
});

function partialCommit(simd: boolean) {
  const rng = new Rng(4);
  const m = 10;
  const a = spd(rng, m);
  const y = Float64Array.from(rng.normals(m));
  const chol = new Cholesky(m, simd);
  const rows: number[] = [];
  const add = (r: number) => {
    assert.ok(chol.append(rows.map((s) => a[s * m + r]), a[r * m + r]));
    rows.push(r);
  };
  for (const r of [0, 1, 2]) add(r);
  const first = chol.mark();
  add(3);
  chol.remove(1); // a removal's record (rows rewritten) sits between the marks
  rows.splice(1, 1);
  const second = chol.mark();
  const atSecond = rows.slice();
  const [before] = bothSolves(chol, a, m, atSecond, y);
  add(4);
  add(5);
  chol.commit(second); // the records before `second` go; `second` stays valid
  assert.throws(() => chol.undo(first), /committed mark/);
  chol.undo(second);
  assert.equal(chol.size, atSecond.length);
  const [after] = bothSolves(chol, a, m, atSecond, y);
  assert.deepEqual([...after], [...before], "bit-identical after undo to the kept mark");
  // A mark taken after a partial commit counts from the same origin.
  const third = chol.mark();
  rows.length = 0;
  rows.push(...atSecond);
  add(6);
  chol.undo(third);
  assert.equal(chol.size, atSecond.length);
  chol.commit();
  const [fresh, direct] = bothSolves(chol, a, m, atSecond, y);
  for (let i = 0; i < fresh.length; i++) {
    assert.ok(Math.abs(fresh[i] - direct[i]) <= 1e-9 * (1 + Math.abs(direct[i])));
  }
}

Deno.test("Cholesky with SIMD solves: equal to the plain loops and to a fresh factorisation, 1 to 61 rows", () => {
  const rng = new Rng(9);
  const m = 61; // past several 8-entry turns of the SIMD loops, and not a multiple of them
  const a = spd(rng, m);
  const y = Float64Array.from(rng.normals(m));
  const [s, p] = [new Cholesky(m, true), new Cholesky(m, false)];
  const rows: number[] = [];
  for (let r = 0; r < m; r++) {
    const k = rows.map((q) => a[q * m + r]);
    assert.ok(s.append(k, a[r * m + r]) && p.append(k, a[r * m + r]));
    rows.push(r);
    const [inc, fresh] = bothSolves(s, a, m, rows, y);
    const [plain] = bothSolves(p, a, m, rows, y);
    for (let i = 0; i < rows.length; i++) {
      assert.ok(Math.abs(inc[i] - fresh[i]) <= 1e-9 * (1 + Math.abs(fresh[i])), `t=${rows.length} vs fresh`);
      assert.ok(Math.abs(inc[i] - plain[i]) <= 1e-12 * (1 + Math.abs(plain[i])), `t=${rows.length} vs plain`);
    }
  }
  // A removal in the middle, then solves again.
  s.remove(30);
  p.remove(30);
  rows.splice(30, 1);
  const [inc, fresh] = bothSolves(s, a, m, rows, y);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Math.abs(inc[i] - fresh[i]) <= 1e-9 * (1 + Math.abs(fresh[i])));
  }
});
