import assert from "node:assert/strict";
import { encodeNpy, type NpyData, parseNpy, readNpy, writeNpy } from "../../src/data/npy.ts";
import { parsePyLiteral } from "../../src/data/py_literal.ts";
import { DataFileNotFoundError, MalformedFileError } from "../../src/data/errors.ts";
import { ShapeError } from "../../src/errors.ts";
import { decodeBase64, rejectsTyped, tempDir, throwsTyped } from "./helpers.ts";

/** Files written by NumPy 2.4 (`np.save`, `np.lib.format.write_array(..., version=...)`), base64. */
const NUMPY = {
  // np.arange(6, dtype='<f4').reshape(2, 3) / 4
  f4:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPgAAAD8AAEA/AACAPwAAoD8=",
  // np.array([-1, 2**40, 3], dtype='<i8')
  i8:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr//////////wAAAAAAAQAAAwAAAAAAAAA=",
  // np.array([[0, 255], [7, 8]], dtype='u1')
  u1:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoA/wcI",
  // np.array([1.5, -2.25], dtype='>f8')
  f8be:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMACAAAAAAAA",
  // np.array(3.5, dtype='<f8'): a 0-d array, shape ()
  scalar:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAMQA==",
  // np.arange(3, dtype='<i4'), versions 2.0 and 3.0
  v2:
    "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAIAAAA=",
  v3:
    "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAIAAAA=",
};

/** A .npy file built by hand: any version, any header text, raw data bytes. */
function handBuilt(major: number, header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(header + "\n");
  const lenBytes = major === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lenBytes + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, 8 + lenBytes);
  out.set(data, 8 + lenBytes + text.length);
  return out;
}

const values = (d: NpyData) => Array.from(d as ArrayLike<number | bigint>);

Deno.test("readNpy: files written by NumPy, every version, both byte orders, 0-d", () => {
  const f4 = parseNpy(decodeBase64(NUMPY.f4));
  assert.deepEqual([f4.dtype, f4.shape, values(f4.data)], ["float32", [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]]);
  const i8 = parseNpy(decodeBase64(NUMPY.i8));
  assert.ok(i8.data instanceof BigInt64Array);
  assert.deepEqual([i8.dtype, i8.shape, values(i8.data)], ["int64", [3], [-1n, 2n ** 40n, 3n]]);
  const u1 = parseNpy(decodeBase64(NUMPY.u1));
  assert.deepEqual([u1.dtype, u1.shape, values(u1.data)], ["uint8", [2, 2], [0, 255, 7, 8]]);
  const be = parseNpy(decodeBase64(NUMPY.f8be));
  assert.deepEqual([be.dtype, be.shape, values(be.data)], ["float64", [2], [1.5, -2.25]]);
  const scalar = parseNpy(decodeBase64(NUMPY.scalar));
  assert.deepEqual([scalar.dtype, scalar.shape, values(scalar.data)], ["float64", [], [3.5]]);
  for (const v of [NUMPY.v2, NUMPY.v3]) {
    const a = parseNpy(decodeBase64(v));
    assert.deepEqual([a.dtype, a.shape, values(a.data)], ["int32", [3], [0, 1, 2]]);
  }
});

Deno.test("encodeNpy: byte-identical to NumPy's np.save", () => {
  const data = Float32Array.of(0, 0.25, 0.5, 0.75, 1, 1.25);
  assert.deepEqual(encodeNpy(data, [2, 3]), decodeBase64(NUMPY.f4));
  assert.deepEqual(encodeNpy(BigInt64Array.of(-1n, 2n ** 40n, 3n), [3]), decodeBase64(NUMPY.i8));
  assert.deepEqual(encodeNpy(Uint8Array.of(0, 255, 7, 8), [2, 2]), decodeBase64(NUMPY.u1));
});

Deno.test("writeNpy/readNpy: every dtype round-trips through a file at several shapes", async () => {
  await using dir = await tempDir();
  const arrays: [NpyData, number[]][] = [
    [Float32Array.of(1.5, -0, Infinity, NaN, 3.4e38, 1e-45), [2, 3]],
    [Float64Array.of(Math.E, -1e-300), [2]],
    [Uint8Array.of(0, 1, 254, 255), [1, 2, 2]],
    [Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0), [3, 1]],
    [BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n), [2]],
    [new Float32Array(0), [0, 5]],
    [Float64Array.of(7), []],
  ];
  for (const [i, [data, shape]] of arrays.entries()) {
    const path = `${dir.path}/a${i}.npy`;
    await writeNpy(path, data, shape);
    const bytes = await Deno.readFile(path);
    assert.equal(bytes[6], 1, "version 1.0");
    const headerEnd = 10 + new DataView(bytes.buffer).getUint16(8, true);
    assert.equal(headerEnd % 64, 0, "data starts on a 64-byte boundary");
    assert.equal(bytes[headerEnd - 1], 0x0a, "header ends in a newline");
    const back = await readNpy(path);
    assert.deepEqual(back.shape, shape);
    assert.equal(back.data.constructor, data.constructor);
    assert.deepEqual(values(back.data), values(data));
  }
  assert.deepEqual([...Deno.readDirSync(dir.path)].length, arrays.length, "no temp files left");
});

Deno.test("parseNpy: hand-built v2/v3 headers with other spellings, and big-endian data", () => {
  const le = new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer);
  const headers = [
    `{"shape": (2, 2), "fortran_order": False, "descr": "<f4"}`, // other quotes, order, no trailing comma
    `{'descr':'<f4','fortran_order':False,'shape':(2L, 2L),}          `, // Python 2 longs, padding
    `{ 'descr' : '=f4' ,\n 'fortran_order' : False , 'shape' : [2, 2] }`, // native order, list shape
  ];
  for (const major of [1, 2, 3]) {
    for (const h of headers) {
      const a = parseNpy(handBuilt(major, h, le), `v${major}.npy`);
      assert.deepEqual(
        [a.dtype, a.shape, values(a.data)],
        ["float32", [2, 2], [1, 2, 3, 4]],
        `v${major} ${h}`,
      );
    }
  }
  const be = new Uint8Array(12);
  [-7, 1 << 20, 3].forEach((v, i) => new DataView(be.buffer).setInt32(4 * i, v));
  const a = parseNpy(handBuilt(3, `{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }`, be));
  assert.deepEqual([a.dtype, values(a.data)], ["int32", [-7, 1 << 20, 3]]);
  const b = new Uint8Array(16);
  new DataView(b.buffer).setBigInt64(0, -5n);
  new DataView(b.buffer).setBigInt64(8, 1n << 50n);
  assert.deepEqual(
    values(parseNpy(handBuilt(2, `{'descr': '>i8', 'fortran_order': False, 'shape': (2,)}`, b)).data),
    [
      -5n,
      1n << 50n,
    ],
  );
});

Deno.test("parseNpy: malformed or unsupported files are MalformedFileErrors naming the file", () => {
  const dict = (descr: string, fortran = "False", shape = "(2,)") =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const eight = new Uint8Array(8);
  const cases: [string, Uint8Array, string][] = [
    ["bad magic", Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0, 0, 0), "bad magic"],
    ["too short", Uint8Array.of(0x93, 0x4e), "bad magic"],
    [
      "version 4",
      handBuilt(2, dict("<f4"), eight).map((b, i) => i === 6 ? 4 : b),
      "unsupported .npy version 4.0",
    ],
    ["fortran order", handBuilt(1, dict("<f4", "True"), eight), "fortran_order is True"],
    ["truncated data", handBuilt(1, dict("<f4"), eight.subarray(0, 7)), "truncated data"],
    ["trailing data", handBuilt(1, dict("<f4"), new Uint8Array(12)), "4 trailing bytes"],
    ["truncated header", handBuilt(1, dict("<f4")).subarray(0, 30), "truncated header"],
    ["complex dtype", handBuilt(1, dict("<c8"), new Uint8Array(16)), "unsupported dtype '<c8'"],
    ["uint32", handBuilt(1, dict("<u4"), eight), "unsupported dtype '<u4'"],
    ["'|' on a 4-byte type", handBuilt(1, dict("|f4"), eight), "unsupported dtype '|f4'"],
    [
      "structured",
      handBuilt(1, `{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }`, eight),
      "structured",
    ],
    ["extra key", handBuilt(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}`), "keys"],
    ["missing key", handBuilt(1, `{'descr': '<f4', 'shape': (2,)}`, eight), "keys"],
    ["negative dim", handBuilt(1, dict("<f4", "False", "(-2,)")), "non-negative"],
    ["not a dict", handBuilt(1, `('<f4', False, (2,))`, eight), "expected a dict"],
    ["code, not a literal", handBuilt(1, `__import__('os').system('true')`, eight), "bad header"],
    ["unterminated", handBuilt(1, `{'descr': '<f4`, eight), "unterminated string"],
  ];
  for (const [what, bytes, problem] of cases) {
    throwsTyped(() => parseNpy(bytes, `${what}.npy`), MalformedFileError, `${what}.npy: `, problem);
  }
});

Deno.test("writeNpy: a shape that does not match the data is a ShapeError and writes nothing", async () => {
  await using dir = await tempDir();
  await assert.rejects(writeNpy(`${dir.path}/x.npy`, new Float32Array(6), [4, 2]), ShapeError);
  throwsTyped(() => encodeNpy(new Float32Array(1), [-1]), ShapeError, "non-negative");
  assert.equal([...Deno.readDirSync(dir.path)].length, 0);
  await rejectsTyped(readNpy(`${dir.path}/x.npy`), DataFileNotFoundError, "x.npy");
});

Deno.test("parsePyLiteral: the literal subset .npy headers use, nothing more", () => {
  const m = parsePyLiteral(`{'a': (1, -2,), "b": [True, None, 'x\\'y\\x41'], 3: {}}`) as Map<
    unknown,
    unknown
  >;
  assert.deepEqual([...m.entries()], [["a", [1, -2]], ["b", [true, null, "x'yA"]], [3, new Map()]]);
  for (
    const bad of [
      "{'a': 1",
      "{'a' 1}",
      "(1 2)",
      "{'a': 1, 'a': 2}",
      "1.5",
      "99999999999999999999",
      "x",
      "(((((".repeat(10),
    ]
  ) {
    assert.throws(() => parsePyLiteral(bad), Error, bad);
  }
});
