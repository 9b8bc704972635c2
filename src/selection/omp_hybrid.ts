/**
 * Batch-OMP with the t × t algebra and the residual in float64 on the CPU and the O(n·d) correlation
 * passes on the GPU — the default engine of GRAD-MATCH (algorithms.md; Rubinstein, Zibulevsky & Elad's
 * Batch-OMP with an incremental Cholesky factor).
 *
 * One OMP iteration, given its pick j:
 *   CPU  K_{S,j} in float64 (t·(C + D) or t·d flops), the incremental Cholesky factor of K_SS + λI
 *        (append; Givens removal for the non-negativity repair, repeated until no weight is negative,
 *        exactly as the reference does), c from two triangular solves, and the residual r = b − G_Sᵀc
 *        in float64 (t·d flops), staged for the GPU as f32. The dot products and axpys run in WebAssembly
 *        SIMD (row_algebra.ts), about 8× plain TypeScript loops.
 *   GPU  p = G r — dense: omp_rowdot (f32 g), or omp_rowdot_f16_batch on an f16 copy of g for every pass
 *        of a batch at once (below); factored: omp_factored_corr from e and hᵀ (gᵢ is never formed) —
 *        then masked_argmax (the f32 winner; the batch kernel's own partials and omp_batch_argmax on the
 *        f16 device) and omp_collect's two short lists: the *window* of rows whose f32 correlation is
 *        within its rounding bound γ‖gᵢ‖‖r‖ of the winner's, and the *pool*, the strongest ≤ 2,048 (dense)
 *        or 512 (factored) rows (a histogram cut below the winner).
 *   CPU  the next pick = the float64 argmax of ⟨gᵢ, r⟩ over the window. The f32 pass only narrows the
 *        search, so the picks are those of OMP in float64, i.e. the reference's, not an artefact of f32
 *        rounding. (Were a window to overflow its list, every unmasked row is scanned in float64 instead,
 *        counted in `fullScans`; on the benchmark problems windows hold 1–3 rows.)
 * Why r is formed on the CPU: it cancels to ‖r‖ ≈ 10⁻³‖b‖ on real gradients, and formed in f32 (on the
 * GPU, or in Gram space as p⁰ − K_{:,S}c, as this engine did before) the correlations carry errors of
 * ~10⁻⁴ of p⁰ — enough to reorder near-ties: on a Fashion-MNIST class that engine ended 4 % above the
 * reference's objective. Formed in float64 and rounded once, r is as exact as f32 can hold it.
 *
 * Read-backs: every GPU→CPU read-back (and every wait on a submit's error scopes) costs ~11 ms in Deno,
 * more than an iteration's work. So the CPU runs ahead of the GPU: after queueing a pass it scores the
 * pool in float64 against that pass's residual, guesses the pick, processes it and queues the next
 * pass — up to `ahead` passes in one step, submitted with one read-back (`Step.readBack`). Then it
 * checks each guess against the window's float64 pick; the first wrong guess and everything after it
 * are undone (Cholesky marks, mask entries) and the true pick is processed instead. Picks, weights and
 * their order are exactly those of one pass per iteration; a wrong guess only costs a wasted pass.
 * `ahead` follows the last batch's run of right guesses (+2), so wasted passes stay few.
 *
 * The ~11 ms is a fixed poll interval (Deno's map sleeps 10 ms whatever the work), so it is idle time:
 * while a batch's read-back is in flight, a short *speculative* batch runs from the guess after its last
 * pass (about one wait's worth of passes, at least 2). If every guess of the batch held, the speculative
 * batch is the true next batch, already on its way back; if one did not, it is dropped with the rest.
 * On a Fashion-MNIST class (factored) this took the run from ~6.3 s to ~4.4 s on lavapipe, with more
 * read-backs (≈ 300 instead of 122), most of them overlapped. The dense f16 device does not speculate:
 * its batch kernel wants 8 residuals per dispatch, and short batches lost more than the waits saved.
 *
 * On lavapipe a submit runs its work before it returns, so "queue the pass, guess while the GPU works"
 * does not overlap on this adapter. The dense f16 device (from 2²⁰ entries) therefore does all of a
 * batch's passes in one dispatch after the guesses: omp_rowdot_f16_batch reads each row of g once for 8
 * residuals, and costs about half a single pass per residual; the guessed rows are masked per residual
 * by levels instead of between passes.
 */
import type { Gpu } from "../gpu/device.ts";
import { Step } from "../gpu/step.ts";
import { type Tensor, tensor } from "../gpu/tensor.ts";
import { encodeMaskedArgmax } from "../gpu/ops/masked_argmax.ts";
import * as omp from "../gpu/ops/omp.ts";
import { throwIfAborted } from "../errors.ts";
import { Cholesky } from "./cholesky.ts";
import type { CpuFeatures } from "./features.ts";
import { rowAlgebra } from "./row_algebra.ts";
import { emptyOmpResult, type OmpOptions, type OmpProblem, type OmpResult, slotCapacity } from "./omp_gpu.ts";

const NONE = 0xffffffff;
/** Capacities of omp_collect's lists. */
/**
 * Capacities of omp_collect's lists. The pool is what the guesses are scored on: a larger one keeps them
 * right for longer but costs a score per row and guess. Dense rows scored in SIMD: 2,048 (n = 10,000,
 * d = 1,024: 61 read-backs against 93 at 512, 5.6 against 6.0 s on lavapipe). Otherwise 512: a Fashion-MNIST
 * class (factored) took 4.4 s at 512, 4.4–4.6 s at 1,024 and 4.9 s at 2,048 with SIMD scores, 5.9 s at
 * 2,048 with plain ones.
 */
const WINDOW = 128;
const POOL = 512;
const POOL_DENSE_SIMD = 2048;
/** Most passes queued per read-back. */
const MAX_AHEAD = 32;
/** What a read-back waits in Deno whatever the work (its map polls the device every 10 ms). */
const READBACK_MS = 10;
/** Guesses a batched device drafts while a read-back is in flight (see `redraft`). */
const DRAFT_SIZE = 4;
/** f32 unit roundoff, and the safety factor on the rounding bounds. */
const U = 2 ** -24;
const SAFE = 1.05;
/** An f16's exponent bits: all zero for ±0 and the subnormals (below 2⁻¹⁴), which g's f16 copy flushes. */
const F16_EXPONENT = 0x7c00;

interface Atom {
  row: number;
  slot: number;
  /** ⟨g_row, b⟩ */
  q: number;
}

/** The CPU side of the iteration: what a rollback restores. */
interface State {
  active: Atom[];
  c: Float64Array;
  /** Picks processed (each takes one iteration slot). */
  slot: number;
  /** Residual b − G_Sᵀc in float64 (length featureDim). */
  r: Float64Array;
}

/** One pass of a batch: the state it saw, the pick guessed after it (−1: none) and the factor's mark. */
interface Pass {
  state: State;
  guess: number;
  mark: number;
}

/** A batch's passes and the state after its last guess (null: none). */
interface Draft {
  passes: Pass[];
  end: State | null;
}

/** A submitted batch, with its read-back. */
interface Batch extends Draft {
  words: Promise<Uint32Array>;
}

/** Runs OMP with float64 algebra on the CPU (`cpu` holds the problem's rows, as the GPU tensors do). */
export async function ompHybrid(
  gpu: Gpu,
  problem: OmpProblem,
  cpu: CpuFeatures,
  opts: OmpOptions,
): Promise<OmpResult> {
  const n = cpu.n;
  const k = Math.min(opts.k, n);
  if (k < 1 || n === 0) return emptyOmpResult();
  const cap = slotCapacity(n, k, opts.spareSlots);
  const lambda = opts.lambda ?? 0;
  const alg = rowAlgebra(cpu, cap, opts.simd);
  const b = alg.b;
  const norms = Float64Array.from({ length: n }, (_, i) => Math.sqrt(Math.max(0, alg.gram(i, i))));
  const lists: omp.CollectLayout = {
    window: WINDOW,
    pool: cpu.kind === "dense" && alg.kind === "simd" ? POOL_DENSE_SIMD : POOL,
  };
  const stride = omp.collectStride(lists);
  const dev = setUp(gpu, problem, cpu, norms, opts.denseF16, lists);
  const chol = new Cholesky(cap, opts.simd ?? true);
  const masked = new Uint8Array(n);
  let st: State = { active: [], c: new Float64Array(0), slot: 0, r: Float64Array.from(b) };
  let pool: ArrayLike<number> = [];
  let ahead = 4;
  /** Histogram levels per octave of the pool (adapted so that the pool's cut falls mid-histogram). */
  let scale = 4;
  const stats = { readBacks: 0, passes: 0, fullScans: 0 };

  /** Processes pick j: the factor, the non-negative weights, the residual. */
  const absorb = (s: State, j: number): State => {
    masked[j] = 1;
    alg.keep(s.slot, j);
    const active = s.active.slice();
    if (chol.append(alg.column(s.active, j), alg.gram(j, j) + lambda)) {
      active.push({ row: j, slot: s.slot, q: alg.dotB(j) });
    }
    const c = solveNonNegative(chol, active);
    return { active, c, slot: s.slot + 1, r: alg.residual(active, c) };
  };

  /**
   * The argmax of ⟨gᵢ, r⟩ > 0 over `rows` (lowest index on ties), or −1: in float64 over a window (the
   * pick; the window was already masked for its own pass, by the kernel), or by the algebra's guess scores
   * over the pool's unmasked rows (a guess).
   */
  const best = (rows: ArrayLike<number>, r: Float64Array, exact: boolean): number => {
    let row = -1;
    let value = 0;
    if (exact) alg.bind(r);
    else alg.bindGuess(r);
    for (let m = 0; m < rows.length; m++) {
      const i = rows[m];
      if (!exact && masked[i]) continue;
      const v = exact ? alg.score(i) : alg.guessScore(i);
      if (v > value || (v === value && row >= 0 && i < row)) [row, value] = [i, v];
    }
    return row;
  };

  /**
   * The pick of the pass recorded at word `at` that saw residual r: float64 over its window. A window
   * that overflowed its list (the f32 bounds wide against the correlations: rows over many decades, a
   * residual near rounding level) is replaced by every row the pass saw unmasked — those not masked now,
   * and `later`'s guesses, made after the pass.
   */
  const certify = (words: Uint32Array, at: number, r: Float64Array, later: () => Pass[]): number => {
    const count = words[at + 2];
    if (count <= lists.window) return best(words.subarray(at + 4, at + 4 + count), r, true);
    stats.fullScans++;
    const unseen = new Set(later().map((p) => p.guess));
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (!masked[i] || unseen.has(i)) rows.push(i);
    return best(rows, r, true);
  };

  const done = (s: State) => s.active.length >= k || s.slot >= cap;

  /**
   * The guess chain from state `from`: up to `size` passes, each followed by the pick guessed from the
   * pool and processed (the factor marked first, so that `undo` can take it back), so that the next pass
   * sees the guessed residual. The guess after the last pass is made too: the next batch starts there.
   * `record`, when given, records each pass before its guess and masks the guess in the stream after.
   */
  const chain = (from: State, size: number, record?: (q: number, s: State) => void): Draft => {
    const passes: Pass[] = [];
    let s = from;
    for (let q = 0; q < size; q++) {
      record?.(q, s);
      const j = best(pool, s.r, false);
      if (j < 0) {
        passes.push({ state: s, guess: -1, mark: -1 });
        break;
      }
      const mark = chol.mark();
      const next = absorb(s, j);
      if (record) dev.maskInStream(j);
      passes.push({ state: s, guess: j, mark });
      s = next;
      if (done(s)) break;
    }
    return { passes, end: passes[passes.length - 1].guess >= 0 ? s : null };
  };

  /** Submits the batch recorded since `dev.begin()`. */
  const send = (d: Draft): Batch => {
    const words = dev.finish();
    words.catch(() => {}); // a batch dropped unread must not surface as an unhandled rejection
    return { ...d, words };
  };

  /** Records correlation pass q of the batch begun, on state s's residual. */
  const recordPass = (q: number, s: State) => {
    dev.pass(q, s, scale);
    stats.passes++;
  };

  /** Records and submits a batch of up to `size` passes from state `from`, guessing between them. */
  const build = (from: State, size: number): Batch => {
    const t0 = performance.now();
    dev.begin();
    const d = chain(from, size, recordPass);
    const b = send(d);
    msPerPass = (performance.now() - t0) / d.passes.length;
    return b;
  };

  /**
   * A draft checked against the pool just read back. A batched device (no speculative batches) drafts
   * the next batch's first guesses on the CPU alone (`chain` without recording) while a read-back is in
   * flight — idle time otherwise; but with the pool of the read-back before, one batch older than a built
   * batch's. So its guesses are kept while the new pool makes the same ones; from the first it would not,
   * the draft is undone and continued from there with the new pool (and a draft kept whole is continued
   * up to `size`): the batch guesses exactly as one built now, and its agreeing prefix was made during the
   * wait. n = 10,000, d = 1,024 on lavapipe: 5.10–5.37 s against 5.46–5.52 s without (drafts of 4; 8
   * and 12 were no faster, their disagreeing tails being lost work).
   */
  const redraft = (d: Draft, size: number): Draft => {
    for (const p of d.passes) if (p.guess >= 0) masked[p.guess] = 0;
    let q = 0;
    for (; q < d.passes.length; q++) {
      const p = d.passes[q];
      if (p.guess < 0 || best(pool, p.state.r, false) !== p.guess) break;
      masked[p.guess] = 1;
    }
    if (q === d.passes.length) {
      if (!d.end || d.passes.length >= size || done(d.end)) return d;
      const more = chain(d.end, size - d.passes.length);
      return { passes: [...d.passes, ...more.passes], end: more.end };
    }
    if (d.passes[q].guess >= 0) chol.undo(d.passes[q].mark);
    const rest = chain(d.passes[q].state, Math.max(1, size - q));
    return { passes: [...d.passes.slice(0, q), ...rest.passes], end: rest.end };
  };

  /** Records and submits a drafted batch: its passes and, after each, its guess's mask. */
  const submit = (d: Draft): Batch => {
    dev.begin();
    d.passes.forEach((p, q) => {
      recordPass(q, p.state);
      if (p.guess >= 0) dev.maskInStream(p.guess);
    });
    return send(d);
  };

  /** Takes back the guesses of `passes` (masks; the factor is undone by the caller). */
  const unmask = (passes: Pass[]) => {
    for (const p of passes) {
      if (p.guess < 0) continue;
      masked[p.guess] = 0;
      dev.setMask(p.guess, 0);
    }
  };

  /**
   * How much longer the next batch may be after one whose guesses all held. The batched f16 device (no
   * speculative batches, so every read-back is waited for) grows by 4: n = 10,000, d = 1,024 took 50
   * read-backs and 5.2–5.4 s on lavapipe, against 61 and 5.7 s growing by 1 (by 8: more passes lost to
   * misses, 5.4–6.2 s). Speculating devices run at the speculative batch's length anyway.
   */
  const grow = dev.speculates ? 1 : 4;
  /** Recording time per pass of the last batch (on lavapipe it includes the GPU work, run in submit). */
  let msPerPass = 0;
  /**
   * A speculative batch about as long as a read-back's wait, no longer (it is lost on a miss): 2 passes on
   * lavapipe, where a pass and its guess take ~5 ms (1 pass per batch measured slower: 600 read-backs' own
   * overhead); more where passes are cheap.
   */
  const specSize = () => Math.max(2, Math.min(ahead, Math.round(READBACK_MS / Math.max(msPerPass, 0.1))));

  try {
    let cur = build(st, ahead);
    for (;;) {
      throwIfAborted(opts.signal);
      // While this batch's read-back is in flight (~10 ms in Deno, whatever the work), the next batch
      // runs from the guess after its last pass; it is dropped if any guess of this one was wrong.
      const spec = dev.speculates && cur.end && !done(cur.end) ? build(cur.end, specSize()) : null;
      const drafted = !dev.speculates && cur.end && !done(cur.end) ? chain(cur.end, DRAFT_SIZE) : null;
      const words = await cur.words;
      stats.readBacks++;
      // Check the guesses in order; the first wrong one is undone with everything after it.
      let q = 0;
      let truth = -1;
      for (; q < cur.passes.length; q++) {
        truth = certify(words, q * stride, cur.passes[q].state.r, () => [
          ...cur.passes.slice(q),
          ...(spec?.passes ?? []),
          ...(drafted?.passes ?? []),
        ]);
        if (cur.passes[q].guess < 0 || cur.passes[q].guess !== truth) break;
      }
      const seen = Math.min(q, cur.passes.length - 1);
      pool = candidates(words, seen * stride, lists);
      const cut = poolCut(words, seen * stride, lists);
      if (cut < 8) scale = Math.min(1024, scale * 2);
      else if (cut > 40) scale = Math.max(1, scale / 2);
      if (q === cur.passes.length) {
        // Every guess held, the last one included: the next batch's passes are the true ones.
        st = cur.end!;
        opts.progress?.(st.active.length, k);
        ahead = Math.min(MAX_AHEAD, ahead + grow);
        if (spec) {
          chol.commit(spec.passes.find((p) => p.guess >= 0)?.mark);
          cur = spec;
          continue;
        }
        if (drafted) {
          cur = submit(redraft(drafted, Math.min(MAX_AHEAD, ahead)));
          chol.commit(cur.passes.find((p) => p.guess >= 0)?.mark);
          continue;
        }
        chol.commit();
        if (done(st)) break;
        cur = build(st, ahead);
        continue;
      }
      // A speculative batch exists only after a guess, so pass q had one and undoing to its mark takes
      // the speculative batch's later marks back too.
      if (spec) unmask(spec.passes);
      if (drafted) unmask(drafted.passes);
      if (cur.passes[q].guess >= 0) {
        chol.undo(cur.passes[q].mark);
        unmask(cur.passes.slice(q));
      }
      chol.commit();
      st = cur.passes[q].state;
      ahead = Math.min(MAX_AHEAD, q + 2);
      if (truth < 0) break;
      st = absorb(st, truth);
      dev.setMask(truth, 1);
      opts.progress?.(st.active.length, k);
      if (done(st)) break;
      cur = build(st, ahead);
    }
    const keep = st.active.map((a, i) => [a.row, st.c[i]] as const).filter(([, w]) => w > 0);
    return {
      indices: Uint32Array.from(keep, (x) => x[0]),
      weights: Float32Array.from(keep, (x) => x[1]),
      iterations: st.slot,
      unresolvedNegatives: 0,
      readBacks: stats.readBacks,
      passes: stats.passes,
      fullScans: stats.fullScans,
    };
  } finally {
    dev.dispose();
  }
}

/**
 * Whether a dense problem's pass reads an f16 copy of g (the batched device): when asked, or by default on
 * CPU adapters from 2²⁰ entries on (where the pass is bound by memory and a batch's residuals share its
 * reads) — both only if g is not all zero and every entry is finite (checked by the caller's
 * readFeatures). On GPUs the default is the f32 device, whose speculative batches hide the read-back
 * waits: n = 10,000, d = 1,024 on an H200 took 3.63 s there against 4.94 s batched in f16.
 * Returns g's largest |entry| (the copy's scale) when it does, 0 when it does not.
 */
function f16Max(gpu: Gpu, cpu: { n: number; d: number; g: Float32Array }, f16: boolean | undefined): number {
  if (!(f16 ?? (gpu.onCpu && cpu.n * cpu.d >= 2 ** 20))) return 0;
  return maxAbs(cpu.g);
}

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Both lists of the record at `at`, as one candidate list (duplicates are harmless). */
function candidates(words: Uint32Array, at: number, l: omp.CollectLayout): Uint32Array {
  const w = Math.min(words[at + 2], l.window);
  const p = Math.min(words[at + 3], l.pool);
  const out = new Uint32Array(w + p);
  out.set(words.subarray(at + 4, at + 4 + w));
  out.set(words.subarray(at + 4 + l.window, at + 4 + l.window + p), w);
  return out;
}

/** The deepest histogram level the pool of the record at `at` kept (−1: none). */
function poolCut(words: Uint32Array, at: number, l: omp.CollectLayout): number {
  let cum = 0;
  const h = at + 4 + l.window + l.pool;
  for (let lv = 0; lv < 64; lv++) {
    cum += words[h + lv];
    if (cum > l.pool) return lv - 1;
  }
  return 63;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Ridge weights of the active set; while one is negative, drop the most negative atom and re-solve. */
function solveNonNegative(chol: Cholesky, active: Atom[]): Float64Array {
  for (;;) {
    const c = chol.solve(active.map((a) => a.q));
    let worst = -1;
    for (let i = 0; i < c.length; i++) if (c[i] < 0 && (worst < 0 || c[i] < c[worst])) worst = i;
    if (worst < 0) return c;
    chol.remove(worst);
    active.splice(worst, 1);
  }
}

/** The GPU side of one run: a batch of passes is one step, submitted with its read-back. */
interface Device {
  /** Whether the next batch is recorded while a batch's read-back is in flight. */
  speculates: boolean;
  /** Starts a batch. */
  begin(): void;
  /** Records correlation pass `q` of the batch on state s's residual (its record: out at q · the collect stride). */
  pass(q: number, s: State, scale: number): void;
  /** Masks a row from the next recorded pass on (a guess processed between passes). */
  maskInStream(row: number): void;
  /** Submits the batch and returns its records. */
  finish(): Promise<Uint32Array>;
  /** Sets a mask entry before the next batch. */
  setMask(row: number, value: number): void;
  dispose(): void;
}

/**
 * GPU buffers and the correlation pass: r is staged per pass (f32, in the kernel's layout) and copied
 * into place inside the step, so the passes of a batch see their own residuals.
 */
function setUp(
  gpu: Gpu,
  problem: OmpProblem,
  cpu: CpuFeatures,
  norms: Float64Array,
  f16: boolean | undefined,
  lists: omp.CollectLayout,
): Device {
  const n = cpu.n;
  const stride = omp.collectStride(lists);
  const owned: Tensor<"u32" | "f32">[] = [];
  const own = <T extends Tensor<"u32" | "f32">>(t: T) => (owned.push(t), t);
  const f32 = (len: number, label: string) => own(tensor(gpu, new Float32Array(len), [len], label));
  const out = own(tensor(gpu, new Uint32Array(MAX_AHEAD * stride), [MAX_AHEAD * stride], "omp.out"));
  const zeros = new Uint32Array(MAX_AHEAD * stride);
  const pick = own(tensor(gpu, new Uint32Array(2), [2], "omp.pick"));
  const mask = own(tensor(gpu, new Uint32Array(n), [n], "omp.mask"));
  const one = own(tensor(gpu, new Uint32Array([1]), [1], "omp.one"));
  const corr = f32(n, "omp.corr");
  const normsT = own(tensor(gpu, Float32Array.from(norms, (x) => x * (1 + 2 * U)), [n], "omp.norms"));
  const bufs = { corr, mask, norms: normsT, out };
  const base = { n, d: 0, dh: 0, cap: 1, slot: 0, k: 1, lambda: 0, bias: 0 };
  /** Writes r in the kernel's layout at `at` of the stage; records the pass given r's tensor. */
  let layout: (r: Float64Array, stage: Float32Array, at: number) => void;
  let record: (step: Step, r: Tensor) => void;
  let rlen: number;
  /** Rounding bound of every correlation, per unit of ‖gᵢ‖·‖r‖. */
  let gamma: number;
  // g's largest |entry| when the dense pass reads an f16 copy of it, 0 when it does not.
  const big = problem.kind === "dense" && cpu.kind === "dense" ? f16Max(gpu, cpu, f16) : 0;
  if (problem.kind === "factored" && cpu.kind === "factored") {
    const [c, dh] = [cpu.c, cpu.dh];
    const cp = 4 * Math.ceil(c / 4);
    rlen = (dh + 1) * cp;
    const np = 4 * Math.ceil(n / 4);
    const ht = new Float32Array(dh * np);
    for (let i = 0; i < n; i++) for (let b = 0; b < dh; b++) ht[b * np + i] = cpu.h[i * dh + b];
    const htT = own(tensor(gpu, ht, [dh, np], "omp.ht"));
    layout = (r, stage, at) => {
      for (let a = 0; a < c; a++) {
        for (let b = 0; b < dh; b++) stage[at + b * cp + a] = r[a * dh + b];
        stage[at + dh * cp + a] = cpu.bias ? r[c * dh + a] : 0;
      }
    };
    const p = { ...base, d: c, dh, bias: cpu.bias ? 1 : 0 };
    record = (step, r) => omp.encodeFactoredCorr(step, p, problem.e, htT, r, corr);
    gamma = SAFE * (c + dh + 4) * U;
  } else if (problem.kind === "dense" && cpu.kind === "dense" && big > 0) {
    return batchedF16(gpu, cpu, norms, big, { out, zeros, corr, mask, normsT, owned, lists });
  } else if (problem.kind === "dense") {
    const d = problem.g.shape[1];
    rlen = d;
    const ctl = own(tensor(gpu, new Uint32Array(8), [8], "omp.ctl"));
    const sel = own(tensor(gpu, new Uint32Array(1).fill(NONE), [1], "omp.sel"));
    const state = { ctl, pick, sel, corr } as unknown as omp.OmpState;
    layout = (r, stage, at) => stage.set(r, at);
    record = (step, r) => omp.encodeDirectCorr(step, { ...base, d }, state, problem.g, r);
    gamma = SAFE * (d + 4) * U;
  } else {
    owned.forEach((t) => t.dispose());
    throw new Error("ompHybrid: the CPU features and the GPU problem are of different kinds");
  }
  const r = f32(rlen, "omp.r");
  const staged = f32(MAX_AHEAD * rlen, "omp.r.staged");
  const stage = new Float32Array(MAX_AHEAD * rlen);
  let step: Step | null = null;
  return {
    speculates: true,
    begin() {
      step = new Step(gpu, "omp passes");
      gpu.device.queue.writeBuffer(out.buffer, 0, zeros);
    },
    pass(q, s, scale) {
      // Each pass goes to the GPU at once (Step.flush), so it runs while the CPU guesses the next pick.
      layout(s.r, stage, q * rlen);
      gpu.device.queue.writeBuffer(staged.buffer, 4 * q * rlen, stage, q * rlen, rlen);
      step!.copy(staged, r, 4 * rlen, 4 * q * rlen);
      record(step!, r);
      encodeMaskedArgmax(step!, corr, mask, pick, { positiveOnly: true });
      step!.copy(pick, out, 8, 0, 4 * q * stride);
      omp.encodeCollect(step!, lists, { n, base: q * stride, slack: gamma * norm(s.r), scale }, bufs);
      step!.flush();
    },
    maskInStream(row) {
      step!.copy(one, mask, 4, 0, 4 * row);
    },
    async finish() {
      const st = step!;
      step = null;
      const words = st.readBack(out);
      await st.submit();
      return await words;
    },
    setMask(row, value) {
      gpu.device.queue.writeBuffer(mask.buffer, 4 * row, new Uint32Array([value]));
    },
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}

/**
 * The dense f16 device: the passes of a batch are one omp_rowdot_f16_batch dispatch over all its
 * residuals (g is read once per 8 of them, about half the cost of a pass each on lavapipe), which also
 * leaves each column's argmax partials (one per lane); then one omp_batch_argmax dispatch for all the
 * columns' winners (on lavapipe a masked_argmax over each column cost ~0.4 ms of the ~3.3 ms per
 * residual), and omp_collect per residual on its column. Masks are levels (lvl, see the shader): a
 * committed pick is 1, the guess made after pass q is q + 2 until the batch is read back, and 1 after.
 * `mask`, never written here, is the all-zero mask of the per-column kernels (the batch kernel has
 * already put −FLT_MAX on the masked rows of each column).
 */
function batchedF16(
  gpu: Gpu,
  cpu: { n: number; d: number; g: Float32Array },
  norms: Float64Array,
  big: number,
  shared: {
    out: Tensor<"u32">;
    zeros: Uint32Array<ArrayBuffer>;
    corr: Tensor;
    mask: Tensor<"u32">;
    normsT: Tensor;
    owned: Tensor<"u32" | "f32">[];
    lists: omp.CollectLayout;
  },
): Device {
  const { n, d } = cpu;
  const { out, zeros, corr, mask, normsT, owned, lists } = shared;
  const stride = omp.collectStride(lists);
  const own = <T extends Tensor<"u32" | "f32">>(t: T) => (owned.push(t), t);
  const q = Math.ceil(d / 8); // groups of 8 features: one vec4<u32> of halves in g16, two vec4s in x
  const np = omp.rowdotF16BatchRows(n);
  // f16 copy of g, transposed, prescaled by a power of two so that its largest entry (big) sits just under
  // 2¹⁴, with subnormals flushed to zero (how an adapter treats them then does not matter).
  const scaleG = 2 ** (13 - Math.floor(Math.log2(big)));
  const h16 = new Float16Array(q * np * 8);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) h16[((c >> 3) * np + i) * 8 + (c & 7)] = cpu.g[i * d + c] * scaleG;
  }
  // Subnormal halves (exponent bits 0) to +0, on the bits: 10× cheaper than a Math.f16round per entry.
  const bits = new Uint16Array(h16.buffer);
  for (let k = 0; k < bits.length; k++) if ((bits[k] & F16_EXPONENT) === 0) bits[k] = 0;
  const g16 = own(tensor(gpu, new Uint32Array(h16.buffer), [h16.length / 2], "omp.g16"));
  // The pass sees s·g̃, so its bound is per unit of s‖gᵢ‖·‖r‖: f16 storage (2⁻¹¹ relative, and below
  // 2⁻¹⁴ the flush: at most 2⁻¹⁴·√d·‖r‖, folded into the norms as 2⁻³·√d since gamma > 2⁻¹¹) and the f32
  // sum of d products.
  const gamma = SAFE * (2 ** -11 + (d + 4) * U);
  normsT.write(Float32Array.from(norms, (x) => (x * scaleG + 2 ** -3 * Math.sqrt(d)) * (1 + 2 * U)));
  const colsCap = 8 * Math.ceil(MAX_AHEAD / 8); // x holds whole slices of 8 residuals
  const x = own(tensor(gpu, new Float32Array(colsCap * 8 * q), [colsCap * 8 * q], "omp.r.batch"));
  const all = own(tensor(gpu, new Float32Array(MAX_AHEAD * np), [MAX_AHEAD * np], "omp.corr.batch"));
  const lvl = own(tensor(gpu, new Uint32Array(n), [n], "omp.lvl"));
  const lanes = omp.rowdotF16BatchLanes(n);
  const partials = own(
    tensor(gpu, new Uint32Array(MAX_AHEAD * lanes * 2), [MAX_AHEAD * lanes * 2], "omp.best"),
  );
  const stage = new Float32Array(colsCap * 8 * q);
  const slacks: number[] = [];
  /** Level writes waiting for the next batch, and the rows this batch's guesses masked. */
  const levels = new Map<number, number>();
  let guessed: number[] = [];
  let scale = 4;
  const bufs = { corr, mask, norms: normsT, out };
  return {
    // Its batch kernel wants 8 residuals per dispatch; short speculative batches lose more passes to misses
    // than they save in waits (measured with the SIMD algebra too: 6.7–9.6 s against 6.0 s).
    speculates: false,
    begin() {
      slacks.length = 0;
      guessed = [];
    },
    pass(qi, s, sc) {
      stage.fill(0, qi * 8 * q, (qi + 1) * 8 * q);
      for (let c = 0; c < d; c++) stage[qi * 8 * q + c] = s.r[c];
      slacks[qi] = gamma * norm(s.r);
      scale = sc;
    },
    maskInStream(row) {
      levels.set(row, slacks.length + 1);
      guessed.push(row);
    },
    async finish() {
      const cols = slacks.length;
      const step = new Step(gpu, "omp batch");
      const w = new Uint32Array(1);
      for (const [row, v] of levels) {
        w[0] = v;
        gpu.device.queue.writeBuffer(lvl.buffer, 4 * row, w);
      }
      levels.clear();
      gpu.device.queue.writeBuffer(out.buffer, 0, zeros);
      gpu.device.queue.writeBuffer(x.buffer, 0, stage, 0, 8 * q * cols);
      omp.encodeRowdotF16Batch(step, { n, q, cols }, { g16, x, lvl, corr: all, best: partials });
      // Every column's winner from the batch kernel's per-lane partials, into its record.
      omp.encodeBatchArgmax(step, { n, cols, stride }, { best: partials, out });
      for (let c = 0; c < cols; c++) {
        step.copy(all, corr, 4 * n, 4 * c * np, 0);
        omp.encodeCollect(step, lists, { n, base: c * stride, slack: slacks[c], scale }, bufs);
      }
      const words = step.readBack(out);
      // This batch's guesses stay masked in every column of the next batch unless undone (setMask) —
      // set before the submit's first await: the next batch is recorded while this one is read back.
      for (const row of guessed) levels.set(row, 1);
      await step.submit();
      return await words;
    },
    setMask(row, value) {
      levels.set(row, value);
    },
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}
