/**
 * Checkpoints: a model's spec, parameters and momentum buffers, plus the training position, in one
 * file. Layout: the 8 bytes "GSCKPT1\n", a little-endian u32 header length, a JSON header, then the
 * float32 data of every tensor (value, then velocity) back to back. Written to a temporary file and
 * renamed, so a crash never leaves a half-written checkpoint under the real name.
 */
import { InvalidInputError } from "../errors.ts";
import type { Model, ModelSpec } from "./model.ts";

const MAGIC = "GSCKPT1\n";

/** Where training stood when the checkpoint was taken. */
export interface TrainingPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken (drives the schedule). */
  stepsDone: number;
  /** Anything else the caller wants back (e.g. the current subset round). */
  extra?: Record<string, unknown>;
}

interface Header {
  spec: ModelSpec;
  position: TrainingPosition;
  tensors: { name: string; shape: number[] }[];
}

/** Encodes `model` and `position` as checkpoint bytes (the layout above). */
export async function encodeCheckpoint(model: Model, position: TrainingPosition): Promise<Uint8Array> {
  const state = await model.state();
  const header: Header = {
    spec: model.spec,
    position,
    tensors: state.map(({ name, shape }) => ({ name, shape })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let total = 12 + json.length;
  for (const s of state) total += s.value.byteLength + s.velocity.byteLength;
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let off = 12 + json.length;
  for (const s of state) {
    for (const t of [s.value, s.velocity]) {
      out.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), off);
      off += t.byteLength;
    }
  }
  return out;
}

/** Saves `model` and `position` to `path` atomically. */
export async function saveCheckpoint(path: string, model: Model, position: TrainingPosition): Promise<void> {
  const bytes = await encodeCheckpoint(model, position);
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
}

/** A checkpoint read back: the spec to build the model with, the tensors, the position. */
export interface Checkpoint {
  spec: ModelSpec;
  position: TrainingPosition;
  state: { name: string; shape: number[]; value: Float32Array; velocity: Float32Array }[];
}

/** Reads a checkpoint; a malformed file is an `InvalidInputError` naming it. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await Deno.readFile(path), path);
}

/** Decodes checkpoint bytes; malformed bytes are an `InvalidInputError` naming `source`. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const path = source;
  const bad = (why: string) => new InvalidInputError(`checkpoint ${path}: ${why}`);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad("not a gradsift checkpoint (bad magic)");
  }
  if (bytes.length < 12) throw bad("truncated header");
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + len > bytes.length) throw bad("truncated header");
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  } catch (e) {
    throw bad(`unreadable header (${e})`);
  }
  let off = 12 + len;
  const state = header.tensors.map(({ name, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    if (off + 8 * count > bytes.length) throw bad(`truncated data at tensor ${name}`);
    const value = new Float32Array(bytes.slice(off, off + 4 * count).buffer);
    const velocity = new Float32Array(bytes.slice(off + 4 * count, off + 8 * count).buffer);
    off += 8 * count;
    return { name, shape, value, velocity };
  });
  if (off !== bytes.length) throw bad(`${bytes.length - off} unexpected trailing bytes`);
  return { spec: header.spec, position: header.position, state };
}

/** Loads a checkpoint's tensors into `model` (which must have been built from the same spec). */
export async function loadCheckpoint(path: string, model: Model): Promise<TrainingPosition> {
  const ck = await readCheckpoint(path);
  model.load(ck.state);
  return ck.position;
}
