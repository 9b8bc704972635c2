/**
 * Reader for the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, bottom):
 *
 *   bytes 0–1   0x00 0x00
 *   byte  2     type code: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte  3     number of dimensions
 *   4·ndim      each dimension as a big-endian u32
 *   rest        the values, big-endian, C order (last dimension fastest)
 *
 * So Fashion-MNIST images start 00 00 08 03 (u8, 3-D: n × 28 × 28) and labels 00 00 08 01. Files may be
 * gzipped (detected by the magic 1f 8b, not the file name). Anything that does not decode exactly —
 * bad magic, short header, short data, trailing bytes, dimensions too large to address — is a
 * `MalformedFileError` naming the file.
 */
import { ShapeError } from "../errors.ts";
import { MalformedFileError } from "./errors.ts";
import { gunzip, isGzip, readBytes } from "./io.ts";

/** Element types an IDX file can hold. */
export type IdxDType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/** A decoded IDX file: `data` holds prod(shape) values in C order, in host byte order. */
export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

type IdxData = IdxArray["data"];

interface TypeInfo {
  code: number;
  dtype: IdxDType;
  /** Bytes per value. */
  size: number;
  make(n: number): IdxData;
  get(view: DataView, offset: number): number; // big-endian, as DataView defaults to
  set(view: DataView, offset: number, value: number): void;
}

/** The IDX element types, keyed by the type code in byte 2 of the magic. */
const TYPES: readonly TypeInfo[] = [
  {
    code: 0x08,
    dtype: "uint8",
    size: 1,
    make: (n) => new Uint8Array(n),
    get: (v, o) => v.getUint8(o),
    set: (v, o, x) => v.setUint8(o, x),
  },
  {
    code: 0x09,
    dtype: "int8",
    size: 1,
    make: (n) => new Int8Array(n),
    get: (v, o) => v.getInt8(o),
    set: (v, o, x) => v.setInt8(o, x),
  },
  {
    code: 0x0b,
    dtype: "int16",
    size: 2,
    make: (n) => new Int16Array(n),
    get: (v, o) => v.getInt16(o),
    set: (v, o, x) => v.setInt16(o, x),
  },
  {
    code: 0x0c,
    dtype: "int32",
    size: 4,
    make: (n) => new Int32Array(n),
    get: (v, o) => v.getInt32(o),
    set: (v, o, x) => v.setInt32(o, x),
  },
  {
    code: 0x0d,
    dtype: "float32",
    size: 4,
    make: (n) => new Float32Array(n),
    get: (v, o) => v.getFloat32(o),
    set: (v, o, x) => v.setFloat32(o, x),
  },
  {
    code: 0x0e,
    dtype: "float64",
    size: 8,
    make: (n) => new Float64Array(n),
    get: (v, o) => v.getFloat64(o),
    set: (v, o, x) => v.setFloat64(o, x),
  },
];

/** Values of `type` from `view` at byte `offset`; single bytes are copied wholesale (no byte order). */
function decodeValues(type: TypeInfo, view: DataView, offset: number, n: number): IdxData {
  const out = type.make(n);
  if (type.size === 1) {
    (out as Uint8Array).set(new Uint8Array(view.buffer, view.byteOffset + offset, n));
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = type.get(view, offset + type.size * i);
  return out;
}

/** Reads and decodes an IDX file, gzipped or plain. */
export async function readIdx(path: string | URL): Promise<IdxArray> {
  const name = String(path);
  return await decodeIdx(await readBytes(path), name);
}

/** Decodes IDX bytes, inflating them first if they are gzipped. `name` is used in error messages. */
export async function decodeIdx(bytes: Uint8Array<ArrayBuffer>, name = "<idx bytes>"): Promise<IdxArray> {
  return parseIdx(isGzip(bytes) ? await gunzip(bytes, name) : bytes, name);
}

/** Decodes uncompressed IDX bytes. The result owns its memory (it never aliases `bytes`). */
export function parseIdx(bytes: Uint8Array, name = "<idx bytes>"): IdxArray {
  const bad = (problem: string) => new MalformedFileError(name, problem);
  if (bytes.length < 4) throw bad(`truncated header: ${bytes.length} bytes, an IDX header needs at least 4`);
  const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
  const type = TYPES.find((t) => t.code === bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type) {
    throw bad(`bad magic 0x${magic}: not an IDX file (expected 0000TTNN with type TT in 08 09 0b 0c 0d 0e)`);
  }
  const ndim = bytes[3];
  if (ndim === 0) throw bad(`bad magic 0x${magic}: zero dimensions`);
  const dataStart = 4 + 4 * ndim;
  if (bytes.length < dataStart) {
    throw bad(
      `truncated header: ${ndim} dimensions need ${dataStart} header bytes, file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * type.size;
  // Beyond 2^53 the product is no longer exact, and no file that large can exist anyway.
  if (!Number.isSafeInteger(dataBytes)) {
    throw bad(`dimensions (${shape.join(", ")}) overflow: ${count} values cannot be addressed`);
  }
  const have = bytes.length - dataStart;
  if (have < dataBytes) {
    throw bad(
      `truncated data: shape (${
        shape.join(", ")
      }) of ${type.dtype} needs ${dataBytes} bytes, file has ${have}`,
    );
  }
  if (have > dataBytes) {
    throw bad(`${have - dataBytes} trailing bytes after the data of shape (${shape.join(", ")})`);
  }
  return { dtype: type.dtype, shape, data: decodeValues(type, view, dataStart, count) };
}

/** Encodes an IDX file (big-endian); the inverse of `parseIdx`, used to build test fixtures. */
export function encodeIdx(array: IdxArray): Uint8Array<ArrayBuffer> {
  const type = TYPES.find((t) => t.dtype === array.dtype)!;
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new ShapeError(
      `encodeIdx: shape (${array.shape.join(", ")}) needs ${count} values, got ${array.data.length}`,
    );
  }
  const ndim = array.shape.length;
  const out = new Uint8Array(4 + 4 * ndim + count * type.size);
  const view = new DataView(out.buffer);
  out[2] = type.code;
  out[3] = ndim;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  for (let i = 0; i < count; i++) type.set(view, 4 + 4 * ndim + type.size * i, array.data[i]);
  return out;
}
