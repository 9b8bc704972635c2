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

interface TypeInfo {
  dtype: IdxDType;
  size: number;
  read(view: DataView, offset: number, n: number): IdxArray["data"];
}

/** Type code (byte 2 of the magic) → element type, size in bytes, and a big-endian decoder. */
const TYPES: Record<number, TypeInfo> = {
  0x08: {
    dtype: "uint8",
    size: 1,
    read: (v, o, n) => new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + n)),
  },
  0x09: {
    dtype: "int8",
    size: 1,
    read: (v, o, n) => new Int8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + n)),
  },
  0x0b: { dtype: "int16", size: 2, read: (v, o, n) => fill(new Int16Array(n), (i) => v.getInt16(o + 2 * i)) },
  0x0c: { dtype: "int32", size: 4, read: (v, o, n) => fill(new Int32Array(n), (i) => v.getInt32(o + 4 * i)) },
  0x0d: {
    dtype: "float32",
    size: 4,
    read: (v, o, n) => fill(new Float32Array(n), (i) => v.getFloat32(o + 4 * i)),
  },
  0x0e: {
    dtype: "float64",
    size: 8,
    read: (v, o, n) => fill(new Float64Array(n), (i) => v.getFloat64(o + 8 * i)),
  },
};

function fill<T extends { length: number; [i: number]: number }>(out: T, at: (i: number) => number): T {
  for (let i = 0; i < out.length; i++) out[i] = at(i);
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
  const type = TYPES[bytes[2]];
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
  return { dtype: type.dtype, shape, data: type.read(view, dataStart, count) };
}

/** Encodes an IDX file (big-endian); the inverse of `parseIdx`, used to build test fixtures. */
export function encodeIdx(array: IdxArray): Uint8Array<ArrayBuffer> {
  const code = Number(Object.keys(TYPES).find((k) => TYPES[Number(k)].dtype === array.dtype));
  const size = TYPES[code].size;
  const ndim = array.shape.length;
  const out = new Uint8Array(4 + 4 * ndim + array.data.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = ndim;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const o = 4 + 4 * ndim;
  const d = array.data;
  for (let i = 0; i < d.length; i++) {
    switch (code) {
      case 0x08:
        view.setUint8(o + i, d[i]);
        break;
      case 0x09:
        view.setInt8(o + i, d[i]);
        break;
      case 0x0b:
        view.setInt16(o + 2 * i, d[i]);
        break;
      case 0x0c:
        view.setInt32(o + 4 * i, d[i]);
        break;
      case 0x0d:
        view.setFloat32(o + 4 * i, d[i]);
        break;
      default:
        view.setFloat64(o + 8 * i, d[i]);
    }
  }
  return out;
}
