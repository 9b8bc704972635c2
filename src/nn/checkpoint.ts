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

/** Saves `model` and `position` to `path` atomically. */
export async function saveCheckpoint(path: string, model: Model, position: TrainingPosition): Promise<void> {
  const state = await model.state();
  const header: Header = {
    spec: model.spec,
    position,
    tensors: state.map(({ name, shape }) => ({ name, shape })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const parts: Uint8Array[] = [
    new TextEncoder().encode(MAGIC),
    new Uint8Array(new Uint32Array([json.length]).buffer),
    json,
  ];
  for (const s of state) {
    parts.push(new Uint8Array(s.value.buffer, s.value.byteOffset, s.value.byteLength));
    parts.push(new Uint8Array(s.velocity.buffer, s.velocity.byteOffset, s.velocity.byteLength));
  }
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += await file.write(p.subarray(off));
    }
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
  const bytes = await Deno.readFile(path);
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
