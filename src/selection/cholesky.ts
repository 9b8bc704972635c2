/**
 * An incrementally maintained Cholesky factor L (lower triangular, float64) of A = K_SS + λI for the
 * active set of OMP: append a row (O(t²)), remove any row (O(t²) with Givens rotations), solve A c = q
 * (two triangular solves, O(t²)). This is Batch-OMP's factor (Rubinstein et al.), kept on the CPU in
 * float64: the t × t algebra is small next to the GPU's O(n·t) correlation pass, and float32 would lose
 * the digits that decide which atoms are independent and which weights are negative.
 *
 * `mark()` / `undo(mark)` roll the factor back to an earlier state (the speculative look-ahead of
 * `omp_hybrid.ts` rolls back picks the GPU did not confirm): while a mark is open every append records
 * the old size and every removal the rows it rewrites; `commit()` forgets the records, `commit(mark)`
 * only those older than `mark` (marks are positions in the whole record stream, so later marks stay
 * valid).
 */
import { type Arena, arenaWith } from "./simd_kernels.ts";

export class Cholesky {
  /** (cap, cap) row-major; rows/columns ≥ size are garbage. */
  #l: Float64Array;
  /**
   * With SIMD, L and a work vector live in a WebAssembly module's memory (byte offsets lp, zp) and the
   * triangular solves run a SIMD dot or axpy per row (n = 10,000, d = 1,024, k = 1,000: ~0.4 s of plain
   * loops); without, both are plain arrays.
   */
  #fn: Arena["fn"] | null = null;
  #lp = 0;
  #zp = 0;
  #z: Float64Array;
  readonly cap: number;
  size = 0;
  /** Undo records since the oldest open mark: the size before, and the rows from `from` on if rewritten. */
  #journal: { size: number; from: number; rows: Float64Array | null }[] = [];
  /** Records committed (dropped from the front of the journal) so far: marks count from the start. */
  #dropped = 0;
  #journaling = false;

  constructor(cap: number, simd = true) {
    this.cap = cap;
    const got = simd ? arenaWith([8 * cap * cap, 8 * cap]) : null;
    if (got) {
      const fn = got.arena.fn;
      [this.#lp, this.#zp] = got.at;
      this.#l = new Float64Array(fn.memory.buffer, this.#lp, cap * cap);
      this.#z = new Float64Array(fn.memory.buffer, this.#zp, cap);
      this.#fn = fn;
    } else {
      this.#l = new Float64Array(cap * cap);
      this.#z = new Float64Array(cap);
    }
  }

  /**
   * Appends a row: `k` holds A's new off-diagonal entries (length size), `kappa` its diagonal. Returns
   * false (and changes nothing) when the Schur complement is ≤ `tol`·kappa: the row is numerically a
   * combination of the others.
   */
  append(k: ArrayLike<number>, kappa: number, tol = 1e-10): boolean {
    const t = this.size;
    if (t >= this.cap) throw new Error("Cholesky: capacity exceeded");
    const L = this.#l;
    const w = this.#forward(k);
    let s = kappa;
    for (let i = 0; i < t; i++) s -= w[i] * w[i];
    if (!(s > tol * kappa)) return false;
    if (this.#journaling) this.#journal.push({ size: t, from: t, rows: null });
    L.set(w.subarray(0, t), t * this.cap);
    L[t * this.cap + t] = Math.sqrt(s);
    this.size++;
    return true;
  }

  /** Removes row/column q of A, keeping L lower triangular with Givens rotations on columns q.. */
  remove(q: number): void {
    const t = this.size;
    const L = this.#l;
    const n = this.cap;
    if (this.#journaling) this.#journal.push({ size: t, from: q, rows: L.slice(q * n, t * n) });
    for (let r = q; r < t - 1; r++) for (let c = 0; c <= r + 1; c++) L[r * n + c] = L[(r + 1) * n + c];
    for (let i = q; i < t - 1; i++) {
      const a = L[i * n + i];
      const b = L[i * n + i + 1];
      const h = Math.hypot(a, b);
      const [c, s] = h === 0 ? [1, 0] : [a / h, b / h];
      for (let m = i; m < t - 1; m++) {
        const x = L[m * n + i];
        const y = L[m * n + i + 1];
        L[m * n + i] = c * x + s * y;
        L[m * n + i + 1] = -s * x + c * y;
      }
    }
    this.size--;
  }

  /** Opens a mark: `undo` with the returned value restores the factor as it is now. */
  mark(): number {
    this.#journaling = true;
    return this.#dropped + this.#journal.length;
  }

  /** Restores the factor to its state at `mark` (records after it are undone, newest first). */
  undo(mark: number): void {
    if (mark < this.#dropped) throw new Error("Cholesky: undo to a committed mark");
    while (this.#dropped + this.#journal.length > mark) {
      const r = this.#journal.pop()!;
      this.size = r.size;
      if (r.rows) this.#l.set(r.rows, r.from * this.cap);
    }
  }

  /**
   * Forgets the records older than `before` (a mark), so marks from `before` on can still be undone; with
   * no argument, forgets every mark (the current state becomes the only one).
   */
  commit(before?: number): void {
    if (before === undefined) {
      this.#dropped += this.#journal.length;
      this.#journal = [];
      this.#journaling = false;
      return;
    }
    const drop = Math.max(0, Math.min(before - this.#dropped, this.#journal.length));
    this.#journal.splice(0, drop);
    this.#dropped += drop;
  }

  /** Solves A c = q (length size). */
  solve(q: ArrayLike<number>): Float64Array {
    const t = this.size;
    const L = this.#l;
    const n = this.cap;
    // Lᵀc = z by rows of L (contiguous), not columns: each solved cᵢ is taken out of the entries above it
    // at once (n = 10,000, d = 1,024, k = 1,000: the column walk, stride cap·8 bytes, made the solves
    // ~0.6 s of the run).
    const c = this.#forward(q);
    const f = this.#fn;
    for (let i = t - 1; i >= 0; i--) {
      const ci = c[i] / L[i * n + i];
      c[i] = ci;
      const row = i * n;
      if (f) f.axpyDD(this.#lp + 8 * row, -ci, this.#zp, i);
      else for (let m = 0; m < i; m++) c[m] -= L[row + m] * ci;
    }
    return c.slice(0, t);
  }

  /** z = L⁻¹ y over the first `size` rows, into the work vector (valid until the next call). */
  #forward(y: ArrayLike<number>): Float64Array {
    const t = this.size;
    const L = this.#l;
    const n = this.cap;
    const z = this.#z;
    const f = this.#fn;
    for (let i = 0; i < t; i++) {
      let s = y[i];
      if (f) s -= f.dotDD(this.#lp + 8 * i * n, this.#zp, i);
      else for (let m = 0; m < i; m++) s -= L[i * n + m] * z[m];
      z[i] = s / L[i * n + i];
    }
    return z;
  }
}
