/**
 * Random access to a stored dataset's training samples, for thumbnails: labels, the rows at some
 * indices, and a sample's features as an 8-bit grey image. Reads only the rows asked for (one
 * positioned read per run of consecutive indices), never the whole features file.
 *
 * Image mapping: the last two axes of `inputShape` are height × width (channels, if any, averaged); a
 * flat sample of d features is a √d × √d square when d is a perfect square, else a 1 × d strip.
 * Features already in [0, 1] (Fashion-MNIST stores pixel / 255) map to round(255·x); any other
 * sample is min–max scaled on its own, so generated data still shows its structure.
 */
import { MalformedFileError } from "./errors.ts";
import { assertLittleEndianHost, readBytes } from "./io.ts";
import type { DatasetMeta, DatasetStore } from "./store.ts";

/** A sample's features as grey pixels. */
export interface GreyImage {
  width: number;
  height: number;
  /** (height, width) u8, row-major. */
  pixels: Uint8Array;
}

/** Height and width of a sample's image, from the dataset's input shape. */
export function imageSize(inputShape: readonly number[]): { width: number; height: number } {
  if (inputShape.length >= 2) {
    return { height: inputShape.at(-2)!, width: inputShape.at(-1)! };
  }
  const d = inputShape[0] ?? 0;
  const side = Math.round(Math.sqrt(d));
  return side * side === d ? { width: side, height: side } : { width: d, height: 1 };
}

/** One sample's features (any shape; leading axes are channels) as a grey image. */
export function toGreyImage(features: Float32Array, inputShape: readonly number[]): GreyImage {
  const { width, height } = imageSize(inputShape);
  const plane = width * height;
  const channels = plane ? Math.max(1, Math.floor(features.length / plane)) : 1;
  // (plane) f32: the mean over channels.
  const grey = new Float32Array(plane);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) grey[i] += features[c * plane + i] / channels;
  }
  let lo = Infinity, hi = -Infinity;
  for (const v of grey) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const unit = lo >= 0 && hi <= 1;
  const [offset, scale] = unit ? [0, 255] : [lo, hi > lo ? 255 / (hi - lo) : 0];
  const pixels = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) pixels[i] = Math.round((grey[i] - offset) * scale);
  return { width, height, pixels };
}

/** The training labels of a dataset: (numTrain) u32. */
export async function readTrainLabels(store: DatasetStore, meta: DatasetMeta): Promise<Uint32Array> {
  assertLittleEndianHost();
  const path = `${store.dir(meta.name)}/train.labels.u32`;
  const bytes = await readBytes(path);
  if (bytes.byteLength !== meta.numTrain * 4) {
    throw new MalformedFileError(path, `${bytes.byteLength} bytes for ${meta.numTrain} labels; re-import`);
  }
  return new Uint32Array(bytes.buffer, bytes.byteOffset, meta.numTrain);
}

/**
 * The training features of the samples at `indices` (each in [0, numTrain)), in that order: one
 * (per) f32 array per index, where per = product of inputShape.
 */
export async function readTrainRows(
  store: DatasetStore,
  meta: DatasetMeta,
  indices: readonly number[],
): Promise<Float32Array[]> {
  assertLittleEndianHost();
  const per = meta.inputShape.reduce((a, b) => a * b, 1);
  const rowBytes = per * 4;
  const path = `${store.dir(meta.name)}/train.features.f32`;
  const order = indices.map((_, i) => i).sort((a, b) => indices[a] - indices[b]);
  const out: Float32Array[] = new Array(indices.length);
  const file = await Deno.open(path, { read: true });
  try {
    // Runs of consecutive indices are read with one positioned read each.
    for (let s = 0; s < order.length;) {
      let e = s + 1;
      while (e < order.length && indices[order[e]] - indices[order[e - 1]] <= 1) e++;
      const first = indices[order[s]];
      const count = indices[order[e - 1]] - first + 1;
      const buf = new Uint8Array(count * rowBytes);
      await file.seek(first * rowBytes, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) {
          throw new MalformedFileError(path, `ends before sample ${first + count - 1}; re-import`);
        }
        got += n;
      }
      const rows = new Float32Array(buf.buffer);
      for (let k = s; k < e; k++) {
        const at = (indices[order[k]] - first) * per;
        out[order[k]] = rows.subarray(at, at + per);
      }
      s = e;
    }
  } finally {
    file.close();
  }
  return out;
}
