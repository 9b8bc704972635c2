/**
 * File helpers shared by the readers, writers and the store: gzip detection and inflation, whole-file
 * reads with typed errors, atomic writes (temp file + fsync + rename), SHA-256 as hex.
 *
 * Typed arrays are written and read as raw host-order bytes; every platform Deno ships for is
 * little-endian, and `assertLittleEndianHost` makes that assumption loud instead of silent.
 */
import { DataFileNotFoundError, MalformedFileError } from "./errors.ts";

/** First two bytes of every gzip member (RFC 1952 §2.3.1). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Throws unless the host is little-endian (raw typed-array bytes are little-endian on disk). */
export function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error("gradsift data files assume a little-endian host");
}

/** Whether `bytes` starts with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Inflates a gzip stream; a truncated or corrupt stream is a `MalformedFileError` naming `path`. */
export async function gunzip(bytes: Uint8Array<ArrayBuffer>, path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new MalformedFileError(path, `corrupt or truncated gzip stream (${why})`, { cause: e });
  }
}

/** Reads a whole file; a missing file is a `DataFileNotFoundError`. */
export async function readBytes(path: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataFileNotFoundError(String(path), { cause: e });
    throw e;
  }
}

/** The bytes of a typed array, without copying. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes `parts` to a new file, flushing it to disk before returning. */
export async function writeSynced(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for (const part of parts) {
      let done = 0;
      while (done < part.length) done += await file.write(part.subarray(done));
    }
    await file.syncData();
  } finally {
    file.close();
  }
}

/** Writes `parts` to `path` atomically: a temp file beside it, fsync, rename. Nothing is left on failure. */
export async function writeFileAtomic(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeSynced(tmp, parts);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** SHA-256 of `bytes` as 64 lowercase hex digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
