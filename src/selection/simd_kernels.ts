/**
 * Float64 dot products and axpy over float32 rows in WebAssembly SIMD (two f64 lanes per instruction, four
 * accumulators): the hybrid OMP's CPU half on dense rows — Gram columns K_{S,j}, the pool's scores ⟨gᵢ, r⟩
 * and the residual r = b − Σ cₛ gₛ. Products of two f32 are exact in f64, so the sums differ from a scalar
 * loop's only in their order.
 *
 * The rows live in the module's memory (`Arena`): the callers copy G (and the picks' rows) in once and
 * pass byte offsets.
 */
import { Code, encodeModule, type Func, T } from "../util/wasm.ts";

/** The exported functions (pointers are byte offsets into the memory). */
interface Exports {
  memory: WebAssembly.Memory;
  /** Σ a[i]·r[i] over n entries; a f32, r f64. */
  dotFD(a: number, r: number, n: number): number;
  /** Σ a[i]·b[i] over n entries, both f32, summed in f64. */
  dotFF(a: number, b: number, n: number): number;
  /** y[i] += s·a[i] over n entries; a f32, y f64. */
  axpyFD(a: number, s: number, y: number, n: number): void;
  /** Σ a[i]·b[i] over n entries in f32 (four f32x4 accumulators): for guesses, not for exact work. */
  dotF32(a: number, b: number, n: number): number;
  /** Σ max(0, a[i] − c[i]) over n entries in f64; a f32, c f64 (facility location's marginal gain). */
  gainFD(a: number, c: number, n: number): number;
  /** Σ a[i]·b[i] over n entries, both f64 (the Cholesky factor's triangular solves). */
  dotDD(a: number, b: number, n: number): number;
  /** y[i] += s·a[i] over n entries, both f64. */
  axpyDD(a: number, s: number, y: number, n: number): void;
}

/**
 * The four-accumulator loop shared by the dots: 8 entries per turn, a's f32 lanes promoted to f64 pairs,
 * then a scalar tail. `second(c, pair)` pushes the f64x2 of the other operand for a's entries 2·pair and
 * 2·pair + 1 of the turn (its pointer is local 1).
 */
function dotBody(bStride: number, second: (c: Code, pair: number) => void): Code {
  // params: 0 a, 1 b, 2 n; locals: 3–6 accumulators (v128), 7 va (v128), 8 tail (f64)
  const c = new Code();
  c.countedLoop(2, 8, [[0, 32], [1, 8 * bStride]], () => {
    for (let h = 0; h < 2; h++) {
      c.get(0).v128Load(16 * h).tee(7).f64x2PromoteLowF32x4();
      second(c, 2 * h);
      c.f64x2Mul().get(3 + 2 * h).f64x2Add().set(3 + 2 * h);
      c.get(7).get(7).highF32().f64x2PromoteLowF32x4();
      second(c, 2 * h + 1);
      c.f64x2Mul().get(4 + 2 * h).f64x2Add().set(4 + 2 * h);
    }
  });
  // tail
  c.countedLoop(2, 1, [[0, 4], [1, bStride]], () => {
    c.get(0).f32Load().f64PromoteF32();
    if (bStride === 8) c.get(1).f64Load();
    else c.get(1).f32Load().f64PromoteF32();
    c.f64Mul().get(8).f64Add().set(8);
  });
  // (acc0 + acc1) + (acc2 + acc3), lanes summed, plus the tail
  c.get(3).get(4).f64x2Add().get(5).get(6).f64x2Add().f64x2Add().tee(7);
  c.f64x2ExtractLane(0).get(7).f64x2ExtractLane(1).f64Add().get(8).f64Add();
  return c;
}

function functions(): Func[] {
  const dotLocals = [T.v128, T.v128, T.v128, T.v128, T.v128, T.f64];
  const dotFD: Func = {
    name: "dotFD",
    params: [T.i32, T.i32, T.i32],
    results: [T.f64],
    locals: dotLocals,
    // r's f64 pair for a's lanes 2p, 2p+1 of this turn: 16 bytes per pair
    body: dotBody(8, (c, pair) => void c.get(1).v128Load(16 * pair)),
  };
  const dotFF: Func = {
    name: "dotFF",
    params: [T.i32, T.i32, T.i32],
    results: [T.f64],
    locals: dotLocals,
    // b's f32 quad h holds pairs 2h (low) and 2h+1 (high)
    body: dotBody(4, (c, pair) => {
      c.get(1).v128Load(16 * (pair >> 1));
      if (pair & 1) c.tee(9).get(9).highF32();
      c.f64x2PromoteLowF32x4();
    }),
  };
  dotFF.locals = [...dotLocals, T.v128];
  // params: 0 a, 1 s, 2 y, 3 n; locals: 4 s splat (v128), 5 va (v128)
  const ax = new Code();
  ax.get(1).f64x2Splat().set(4);
  ax.countedLoop(3, 4, [[0, 16], [2, 32]], () => {
    ax.get(2).get(0).v128Load().tee(5).f64x2PromoteLowF32x4().get(4).f64x2Mul().get(2).v128Load().f64x2Add()
      .v128Store();
    ax.get(2).get(5).get(5).highF32().f64x2PromoteLowF32x4().get(4).f64x2Mul().get(2).v128Load(16).f64x2Add()
      .v128Store(16);
  });
  ax.countedLoop(3, 1, [[0, 4], [2, 8]], () => {
    ax.get(2).get(0).f32Load().f64PromoteF32().get(1).f64Mul().get(2).f64Load().f64Add().f64Store();
  });
  const axpyFD: Func = {
    name: "axpyFD",
    params: [T.i32, T.f64, T.i32, T.i32],
    results: [],
    locals: [T.v128, T.v128],
    body: ax,
  };
  // params: 0 a, 1 b, 2 n; locals: 3–6 accumulators (v128), 7 tail (f32)
  const df = new Code();
  df.countedLoop(2, 16, [[0, 64], [1, 64]], () => {
    for (let u = 0; u < 4; u++) {
      df.get(0).v128Load(16 * u).get(1).v128Load(16 * u).f32x4Mul().get(3 + u).f32x4Add().set(3 + u);
    }
  });
  df.countedLoop(2, 1, [[0, 4], [1, 4]], () => {
    df.get(0).f32Load().get(1).f32Load().f32Mul().get(7).f32Add().set(7);
  });
  df.get(3).get(4).f32x4Add().get(5).get(6).f32x4Add().f32x4Add().set(3);
  for (let l = 0; l < 4; l++) df.get(3).f32x4ExtractLane(l).f64PromoteF32();
  df.f64Add().f64Add().f64Add().get(7).f64PromoteF32().f64Add();
  const dotF32: Func = {
    name: "dotF32",
    params: [T.i32, T.i32, T.i32],
    results: [T.f64],
    locals: [T.v128, T.v128, T.v128, T.v128, T.f32],
    body: df,
  };
  // params: 0 a, 1 c, 2 n; locals: 3–6 accumulators (v128), 7 va (v128), 8 tail (f64), 9 zero (v128)
  const gn = new Code();
  gn.countedLoop(2, 8, [[0, 32], [1, 64]], () => {
    for (let h = 0; h < 2; h++) {
      gn.get(9).get(0).v128Load(16 * h).tee(7).f64x2PromoteLowF32x4().get(1).v128Load(32 * h).f64x2Sub();
      gn.f64x2Pmax().get(3 + 2 * h).f64x2Add().set(3 + 2 * h);
      gn.get(9).get(7).get(7).highF32().f64x2PromoteLowF32x4().get(1).v128Load(32 * h + 16).f64x2Sub();
      gn.f64x2Pmax().get(4 + 2 * h).f64x2Add().set(4 + 2 * h);
    }
  });
  gn.countedLoop(2, 1, [[0, 4], [1, 8]], () => {
    gn.f64(0).get(0).f32Load().f64PromoteF32().get(1).f64Load().f64Sub().f64Max().get(8).f64Add().set(8);
  });
  gn.get(3).get(4).f64x2Add().get(5).get(6).f64x2Add().f64x2Add().tee(7);
  gn.f64x2ExtractLane(0).get(7).f64x2ExtractLane(1).f64Add().get(8).f64Add();
  const gainFD: Func = {
    name: "gainFD",
    params: [T.i32, T.i32, T.i32],
    results: [T.f64],
    locals: [T.v128, T.v128, T.v128, T.v128, T.v128, T.f64, T.v128],
    body: gn,
  };
  // params: 0 a, 1 b, 2 n; locals: 3–6 accumulators (v128), 7 tail (f64)
  const dd = new Code();
  dd.countedLoop(2, 8, [[0, 64], [1, 64]], () => {
    for (let u = 0; u < 4; u++) {
      dd.get(0).v128Load(16 * u).get(1).v128Load(16 * u).f64x2Mul().get(3 + u).f64x2Add().set(3 + u);
    }
  });
  dd.countedLoop(2, 1, [[0, 8], [1, 8]], () => {
    dd.get(0).f64Load().get(1).f64Load().f64Mul().get(7).f64Add().set(7);
  });
  dd.get(3).get(4).f64x2Add().get(5).get(6).f64x2Add().f64x2Add().set(3);
  dd.get(3).f64x2ExtractLane(0).get(3).f64x2ExtractLane(1).f64Add().get(7).f64Add();
  const dotDD: Func = {
    name: "dotDD",
    params: [T.i32, T.i32, T.i32],
    results: [T.f64],
    locals: [T.v128, T.v128, T.v128, T.v128, T.f64],
    body: dd,
  };
  // params: 0 a, 1 s, 2 y, 3 n; locals: 4 s splat (v128)
  const ad = new Code();
  ad.get(1).f64x2Splat().set(4);
  ad.countedLoop(3, 2, [[0, 16], [2, 16]], () => {
    ad.get(2).get(0).v128Load().get(4).f64x2Mul().get(2).v128Load().f64x2Add().v128Store();
  });
  ad.countedLoop(3, 1, [[0, 8], [2, 8]], () => {
    ad.get(2).get(0).f64Load().get(1).f64Mul().get(2).f64Load().f64Add().f64Store();
  });
  const axpyDD: Func = {
    name: "axpyDD",
    params: [T.i32, T.f64, T.i32, T.i32],
    results: [],
    locals: [T.v128],
    body: ad,
  };
  return [dotFD, dotFF, axpyFD, dotF32, gainFD, dotDD, axpyDD];
}

/** Largest arena `arenaWith` hands out (its callers use plain loops above it). */
const SIMD_MAX_BYTES = 2 ** 31;

let compiled: WebAssembly.Module | null = null;

/** Whether this runtime runs WebAssembly SIMD (Deno does; the callers fall back to plain loops if not). */
export function simdAvailable(): boolean {
  try {
    compiled ??= new WebAssembly.Module(encodeModule(functions(), 1));
    return true;
  } catch {
    return false;
  }
}

/**
 * One instance of the module and its memory, with a bump allocator: `alloc` hands out 16-byte-aligned
 * regions, `reset` frees them all. Views are re-made after the memory grows (the `f32` / `f64` getters).
 */
export class Arena {
  readonly fn: Exports;
  private top = 16;
  private f32View: Float32Array;
  private f64View: Float64Array;

  constructor() {
    if (!simdAvailable()) throw new Error("WebAssembly SIMD is not available in this runtime");
    this.fn = new WebAssembly.Instance(compiled!).exports as unknown as Exports;
    this.f32View = new Float32Array(this.fn.memory.buffer);
    this.f64View = new Float64Array(this.fn.memory.buffer);
  }

  /** A region of `bytes` bytes; its byte offset (a multiple of 16). */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 16) * 16;
    const need = this.top - this.fn.memory.buffer.byteLength;
    if (need > 0) this.fn.memory.grow(Math.ceil(need / 65536));
    return at;
  }

  /** The memory as f32 (index = byte offset / 4). */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.fn.memory.buffer) this.f32View = new Float32Array(this.fn.memory.buffer);
    return this.f32View;
  }

  /** The memory as f64 (index = byte offset / 8). */
  get f64(): Float64Array {
    if (this.f64View.buffer !== this.fn.memory.buffer) this.f64View = new Float64Array(this.fn.memory.buffer);
    return this.f64View;
  }
}

/**
 * A fresh arena holding regions of the given sizes, with their byte offsets — or null, for the caller's
 * plain loops, where SIMD is unavailable, the regions exceed 2 GiB, or the memory cannot grow that far.
 * Nothing else is allocated in it, so views made over its memory stay valid.
 */
export function arenaWith(bytes: readonly number[]): { arena: Arena; at: number[] } | null {
  const total = bytes.reduce((sum, b) => sum + Math.ceil(b / 16) * 16, 16);
  if (total > SIMD_MAX_BYTES || !simdAvailable()) return null;
  try {
    const arena = new Arena();
    return { arena, at: bytes.map((b) => arena.alloc(b)) };
  } catch (e) {
    if (e instanceof RangeError) return null; // WebAssembly.Memory.grow failed
    throw e;
  }
}
