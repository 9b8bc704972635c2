/**
 * A minimal WebAssembly binary encoder: just what the hand-written SIMD loops of `src/selection/simd_kernels.ts`
 * need (one exported memory, functions of i32 / f64 parameters, the scalar and 128-bit SIMD instructions
 * they use). The module is built when first used, so the repository holds no binary blob: the instruction
 * sequences below are the source.
 */

/** Value types. */
export const T = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof T)[keyof typeof T];

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

/** Emits one function body's instructions. Loads and stores take a byte offset (static) and alignment. */
export class Code {
  readonly bytes: number[] = [];
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private simd(code: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(code), ...rest);
  }
  get(i: number) {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number) {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number) {
    return this.op(0x22, ...uleb(i));
  }
  i32(v: number) {
    return this.op(0x41, ...sleb(v));
  }
  f64(v: number) {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }
  i32Add() {
    return this.op(0x6a);
  }
  i32Sub() {
    return this.op(0x6b);
  }
  i32Mul() {
    return this.op(0x6c);
  }
  i32Shl() {
    return this.op(0x74);
  }
  i32LtS() {
    return this.op(0x48);
  }
  i32GeS() {
    return this.op(0x4e);
  }
  f32Add() {
    return this.op(0x92);
  }
  f32Mul() {
    return this.op(0x94);
  }
  f64Add() {
    return this.op(0xa0);
  }
  f64Sub() {
    return this.op(0xa1);
  }
  f64Mul() {
    return this.op(0xa2);
  }
  f64Max() {
    return this.op(0xa5);
  }
  f64PromoteF32() {
    return this.op(0xbb);
  }
  f32Load(offset = 0) {
    return this.op(0x2a, 2, ...uleb(offset));
  }
  i32Load(offset = 0) {
    return this.op(0x28, 2, ...uleb(offset));
  }
  f64Load(offset = 0) {
    return this.op(0x2b, 3, ...uleb(offset));
  }
  f64Store(offset = 0) {
    return this.op(0x39, 3, ...uleb(offset));
  }
  /** `block` / `loop` with no result; `end` closes either. */
  block() {
    return this.op(0x02, 0x40);
  }
  loop() {
    return this.op(0x03, 0x40);
  }
  end() {
    return this.op(0x0b);
  }
  br(depth: number) {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number) {
    return this.op(0x0d, ...uleb(depth));
  }
  /**
   * `while (n ≥ step) { body; each pointer += its bytes; n −= step }` over locals: `n` the count left,
   * `ptrs` pairs of (local, bytes per turn).
   */
  countedLoop(n: number, step: number, ptrs: readonly [local: number, bytes: number][], body: () => void) {
    this.block().loop();
    this.get(n).i32(step).i32LtS().brIf(1);
    body();
    for (const [p, bytes] of ptrs) this.get(p).i32(bytes).i32Add().set(p);
    this.get(n).i32(step).i32Sub().set(n);
    return this.br(0).end().end();
  }
  v128Load(offset = 0) {
    return this.simd(0x00, 4, ...uleb(offset));
  }
  v128Store(offset = 0) {
    return this.simd(0x0b, 4, ...uleb(offset));
  }
  /** The upper two f32 lanes moved down (lanes 2, 3, 2, 3). */
  highF32() {
    return this.simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  }
  f32x4ExtractLane(lane: number) {
    return this.simd(0x1f, lane);
  }
  f32x4Add() {
    return this.simd(0xe4);
  }
  f32x4Mul() {
    return this.simd(0xe6);
  }
  f64x2Splat() {
    return this.simd(0x14);
  }
  f64x2ExtractLane(lane: number) {
    return this.simd(0x21, lane);
  }
  f64x2PromoteLowF32x4() {
    return this.simd(0x5f);
  }
  f64x2Add() {
    return this.simd(0xf0);
  }
  f64x2Sub() {
    return this.simd(0xf1);
  }
  f64x2Mul() {
    return this.simd(0xf2);
  }
  /** b if a < b else a (pseudo-max: with a = 0, max(0, b) for every non-NaN b). */
  f64x2Pmax() {
    return this.simd(0xf7);
  }
}

/** One function: its signature, extra locals (after the parameters) and body. */
export interface Func {
  name: string;
  params: ValType[];
  results: ValType[];
  locals: ValType[];
  body: Code;
}

/** Encodes a module exporting `memory` (minimum `pages` of 64 KiB, growable) and the functions. */
export function encodeModule(funcs: readonly Func[], pages: number): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const bodies = funcs.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const exports = [
    [...name("memory"), 0x02, ...uleb(0)],
    ...funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}
