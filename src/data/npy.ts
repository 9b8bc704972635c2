/**
 * Reader and writer for NumPy's `.npy` format (numpy/lib/format.py, NEP 1):
 *
 *   "\x93NUMPY"  major  minor  HEADER_LEN  header
 *
 * HEADER_LEN is a little-endian u16 in version 1.0 and a u32 in 2.0 and 3.0; the header is a Python dict
 * literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` (latin-1 in 1.0/2.0, UTF-8 in
 * 3.0), padded with spaces and ended by "\n". The data follows in C order.
 *
 * Supported dtypes: f4 f8 u1 i4 i8, either byte order ('>' is byte-swapped on read; the writer always
 * writes '<' or '|u1'). `fortran_order: True`, structured dtypes and any other kind are rejected with a
 * `MalformedFileError` that says what to do. The header is parsed by a small literal parser, never
 * evaluated. int64 data comes back as a BigInt64Array.
 */
import { ShapeError } from "../errors.ts";
import { MalformedFileError } from "./errors.ts";
import { assertLittleEndianHost, bytesOf, readBytes, writeFileAtomic } from "./io.ts";
import { parsePyLiteral } from "./py_literal.ts";

/** Element types this reader and writer handle. */
export type NpyDType = "float32" | "float64" | "uint8" | "int32" | "int64";

/** Typed arrays for those element types. */
export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/** A decoded `.npy` array: prod(shape) values in C order, host byte order. */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy pads magic + length + header to a multiple of 64 so the data is aligned for any dtype. */
const ALIGN = 64;
const KEYS = ["descr", "fortran_order", "shape"];

interface Kind {
  dtype: NpyDType;
  /** descr without the byte-order character: "f4". */
  code: string;
  size: number;
  /** A copy of little-endian bytes (the buffer starts at 0, so alignment is never an issue). */
  fromLE(buf: ArrayBuffer): NpyData;
  /** Decodes big-endian values one at a time. */
  fromBE(view: DataView, n: number): NpyData;
}

const KINDS: readonly Kind[] = [
  {
    dtype: "float32",
    code: "f4",
    size: 4,
    fromLE: (b) => new Float32Array(b),
    fromBE: (v, n) => Float32Array.from({ length: n }, (_, i) => v.getFloat32(4 * i)),
  },
  {
    dtype: "float64",
    code: "f8",
    size: 8,
    fromLE: (b) => new Float64Array(b),
    fromBE: (v, n) => Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i)),
  },
  {
    dtype: "uint8",
    code: "u1",
    size: 1,
    fromLE: (b) => new Uint8Array(b),
    fromBE: (v, n) => new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + n)),
  },
  {
    dtype: "int32",
    code: "i4",
    size: 4,
    fromLE: (b) => new Int32Array(b),
    fromBE: (v, n) => Int32Array.from({ length: n }, (_, i) => v.getInt32(4 * i)),
  },
  {
    dtype: "int64",
    code: "i8",
    size: 8,
    fromLE: (b) => new BigInt64Array(b),
    fromBE: (v, n) => BigInt64Array.from({ length: n }, (_, i) => v.getBigInt64(8 * i)),
  },
];

/** Reads a `.npy` file (or decodes bytes already in memory). */
export async function readNpy(source: string | URL | Uint8Array): Promise<NpyArray> {
  if (source instanceof Uint8Array) return parseNpy(source);
  return parseNpy(await readBytes(source), String(source));
}

/** Decodes `.npy` bytes. `name` is used in error messages. The result never aliases `bytes`. */
export function parseNpy(bytes: Uint8Array, name = "<npy bytes>"): NpyArray {
  const bad = (problem: string) => new MalformedFileError(name, problem);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw bad(`bad magic [${head}]: not a .npy file (expected 93 4e 55 4d 50 59 "\\x93NUMPY")`);
  }
  const [major, minor] = [bytes[6], bytes[7]];
  if (major < 1 || major > 3 || minor !== 0) throw bad(`unsupported .npy version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw bad(`truncated header: ${bytes.length} bytes`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart) {
    throw bad(`truncated header: it declares ${headerLen} bytes, file has ${bytes.length - 8 - lenBytes}`);
  }
  const headerBytes = bytes.subarray(8 + lenBytes, dataStart);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(headerBytes);
  const { kind, bigEndian, shape } = readHeader(text, bad);

  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * kind.size;
  const dims = `(${shape.join(", ")})`;
  if (!Number.isSafeInteger(dataBytes)) throw bad(`shape ${dims} overflows`);
  const have = bytes.length - dataStart;
  if (have < dataBytes) {
    throw bad(`truncated data: shape ${dims} of ${kind.dtype} needs ${dataBytes} bytes, file has ${have}`);
  }
  if (have > dataBytes) throw bad(`${have - dataBytes} trailing bytes after the data of shape ${dims}`);
  const start = bytes.byteOffset + dataStart;
  let data: NpyData;
  if (bigEndian) {
    data = kind.fromBE(new DataView(bytes.buffer, start, dataBytes), count);
  } else {
    assertLittleEndianHost();
    data = kind.fromLE(bytes.buffer.slice(start, start + dataBytes) as ArrayBuffer);
  }
  return { dtype: kind.dtype, shape, data };
}

/** Parses and checks the header dict: exactly descr, fortran_order = False, shape of integers ≥ 0. */
function readHeader(text: string, bad: (problem: string) => MalformedFileError) {
  let dict: unknown;
  try {
    dict = parsePyLiteral(text.trimEnd());
  } catch (e) {
    throw bad(`bad header ${JSON.stringify(text.trim())}: ${(e as Error).message}`);
  }
  if (!(dict instanceof Map)) throw bad(`bad header: expected a dict, got ${JSON.stringify(text.trim())}`);
  const keys = [...dict.keys()].map(String).sort();
  if (keys.join() !== KEYS.join()) {
    throw bad(`bad header: keys {${keys.join(", ")}}, expected {${KEYS.join(", ")}}`);
  }
  const descr = dict.get("descr");
  if (typeof descr !== "string") {
    throw bad(`unsupported dtype ${JSON.stringify(descr)}: structured arrays are not supported`);
  }
  const order = descr[0];
  const kind = KINDS.find((k) => k.code === descr.slice(1));
  // '|' (not applicable) is only meaningful for one-byte types; '=' is native, little-endian on our hosts.
  if (!kind || !"<>|=".includes(order) || (order === "|" && kind.size !== 1)) {
    throw bad(`unsupported dtype '${descr}': expected one of <f4 <f8 |u1 <i4 <i8 (or '>' big-endian)`);
  }
  const fortran = dict.get("fortran_order");
  if (fortran === true) {
    throw bad("fortran_order is True: only C order is supported; save np.ascontiguousarray(a) instead");
  }
  if (fortran !== false) throw bad(`bad header: fortran_order is ${JSON.stringify(fortran)}, expected False`);
  const shape = dict.get("shape");
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`bad header: shape ${JSON.stringify(shape)} is not a tuple of non-negative integers`);
  }
  return { kind, bigEndian: order === ">" && kind.size > 1, shape: shape as number[] };
}

/** The dtype a typed array is stored as. */
function kindOf(data: NpyData): Kind {
  const dtype: NpyDType | undefined = data instanceof Float32Array
    ? "float32"
    : data instanceof Float64Array
    ? "float64"
    : data instanceof Uint8Array
    ? "uint8"
    : data instanceof Int32Array
    ? "int32"
    : data instanceof BigInt64Array
    ? "int64"
    : undefined;
  if (!dtype) throw new ShapeError(`npy: unsupported array type ${Object.prototype.toString.call(data)}`);
  return KINDS.find((k) => k.dtype === dtype)!;
}

/**
 * The `.npy` preamble (magic, version, length, header) for `data` with `shape`: version 1.0, or 2.0 if
 * the header outgrows a u16 length. The data bytes follow it directly.
 */
export function npyHeader(data: NpyData, shape: readonly number[]): Uint8Array<ArrayBuffer> {
  const kind = kindOf(data);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`npy: shape (${shape.join(", ")}) must hold non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new ShapeError(`npy: shape (${shape.join(", ")}) needs ${count} values, got ${data.length}`);
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const descr = kind.size === 1 ? `|${kind.code}` : `<${kind.code}`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  // Pad with spaces so magic + length + header (ending in "\n") is a multiple of ALIGN.
  const padded = (preamble: number) => Math.ceil((preamble + dict.length + 1) / ALIGN) * ALIGN - preamble;
  const v1 = padded(10) <= 0xffff;
  const preamble = v1 ? 10 : 12;
  const headerLen = padded(preamble);
  const out = new Uint8Array(preamble + headerLen);
  out.set(MAGIC);
  out[6] = v1 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  out.set(new TextEncoder().encode(dict.padEnd(headerLen - 1, " ") + "\n"), preamble);
  return out;
}

/** Encodes `data` with `shape` as `.npy` bytes (C order, little-endian). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array<ArrayBuffer> {
  const header = npyHeader(data, shape);
  assertLittleEndianHost();
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(bytesOf(data), header.length);
  return out;
}

/** Writes `data` with `shape` to `path` as `.npy`, atomically (nothing is left if it fails). */
export async function writeNpy(path: string, data: NpyData, shape: readonly number[]): Promise<void> {
  const header = npyHeader(data, shape);
  assertLittleEndianHost();
  await writeFileAtomic(path, [header, bytesOf(data)]);
}
