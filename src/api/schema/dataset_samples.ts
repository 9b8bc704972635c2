/**
 * `Dataset.samples(first, after, label, indices)`: the training samples of a dataset with their labels
 * and, on request, their features as small grey images (what the dashboard's thumbnail grids draw).
 * One page is one batched read: labels from the labels file, and the page's feature rows read together
 * the first time any of its `image` fields resolves. Also `Dataset.classNames` from the store.
 */
import type { DatasetRow } from "../../db/schema.ts";
import type { DatasetMeta, DatasetStore } from "../../data/store.ts";
import { readTrainLabels, readTrainRows, toGreyImage } from "../../data/samples.ts";
import { InvalidInputError } from "../../errors.ts";
import { ConflictError } from "../../runs/service.ts";
import { builder } from "../builder.ts";
import { decodeCursor, encodeCursor } from "../ids.ts";
import { connectionType, MAX_PAGE_SIZE, pageSize, toConnection } from "./connection.ts";
import { DatasetRef } from "./dataset.ts";

interface SampleNode {
  index: number;
  label: number;
  /** Reads the image of this sample (with the rest of its page). */
  image(): Promise<{ width: number; height: number; pixels: Uint8Array }>;
}

const SampleImageRef = builder.objectRef<{ width: number; height: number; pixels: Uint8Array }>(
  "SampleImage",
).implement({
  description: "A sample's features as 8-bit grey pixels (channels averaged).",
  fields: (t) => ({
    width: t.exposeInt("width"),
    height: t.exposeInt("height"),
    pixels: t.string({
      description: "height × width bytes, row-major, base64. [0, 1] features map to 0 … 255; " +
        "other samples are min–max scaled on their own.",
      resolve: (img) => base64(img.pixels),
    }),
  }),
});

const DatasetSampleRef = builder.objectRef<SampleNode>("DatasetSample").implement({
  description: "A sample of the training split.",
  fields: (t) => ({
    index: t.exposeInt("index", { description: "Row in the training split, from 0." }),
    label: t.exposeInt("label"),
    image: t.field({ type: SampleImageRef, resolve: (s) => s.image() }),
  }),
});

const DatasetSampleConnection = connectionType("DatasetSample", DatasetSampleRef, { totalCount: true });

const isIndexKey = (v: unknown): v is { index: number } =>
  typeof v === "object" && v !== null && Number.isInteger((v as { index: unknown }).index);

async function readyMeta(d: DatasetRow, store: DatasetStore) {
  if (d.status !== "READY") throw new ConflictError(`dataset ${d.name} is ${d.status}, not READY`);
  return await store.meta(d.name);
}

builder.objectFields(DatasetRef, (t) => ({
  classNames: t.stringList({
    nullable: true,
    description: "Class names by label, when the dataset has them.",
    resolve: async (d, _a, ctx) => d.status === "READY" ? (await ctx.store.meta(d.name)).classNames : null,
  }),
  samples: t.field({
    type: DatasetSampleConnection,
    description: "Training samples by index; or only those listed in `indices`, in that order.",
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      label: t.arg.int({ description: "Only samples of this class." }),
      indices: t.arg.intList({ description: `At most ${MAX_PAGE_SIZE} sample indices.` }),
    },
    resolve: async (d, args, ctx) => {
      const first = pageSize(args.first);
      const meta = await readyMeta(d, ctx.store);
      const labels = await readTrainLabels(ctx.store, meta);
      const candidates = candidateIndices(meta, labels, args.indices ?? null, args.label ?? null);
      let start = 0;
      if (args.after) {
        const at = decodeCursor(args.after, isIndexKey).index;
        start = args.indices ? candidates.indexOf(at) + 1 : lowerBound(candidates, at + 1);
        if (args.indices && start === 0) throw new InvalidInputError(`the cursor is not in this list`);
      }
      const rows = candidates.slice(start, start + first);
      let images: Promise<Float32Array[]> | null = null;
      const page = rows.map((index, k): SampleNode => ({
        index,
        label: labels[index],
        image: async () => {
          images ??= readTrainRows(ctx.store, meta, rows);
          return toGreyImage((await images)[k], meta.inputShape);
        },
      }));
      return toConnection(
        { rows: page, hasNextPage: start + first < candidates.length },
        (s) => encodeCursor({ index: s.index }),
        start > 0,
        () => Promise.resolve(candidates.length),
      );
    },
  }),
}));

/** Indices to page through: `indices` (checked, deduplicated) or all, then only class `label`. */
function candidateIndices(
  meta: DatasetMeta,
  labels: Uint32Array,
  indices: readonly number[] | null,
  label: number | null,
): number[] {
  if (label !== null && (label < 0 || label >= meta.numClasses)) {
    throw new InvalidInputError(`label must be between 0 and ${meta.numClasses - 1}, got ${label}`);
  }
  let out: number[];
  if (indices) {
    if (indices.length > MAX_PAGE_SIZE) {
      throw new InvalidInputError(`indices may list at most ${MAX_PAGE_SIZE} samples, got ${indices.length}`);
    }
    const bad = indices.find((i) => i < 0 || i >= meta.numTrain);
    if (bad !== undefined) {
      throw new InvalidInputError(`sample index ${bad} is outside 0 … ${meta.numTrain - 1}`);
    }
    out = [...new Set(indices)];
  } else {
    out = Array.from({ length: meta.numTrain }, (_, i) => i);
  }
  return label === null ? out : out.filter((i) => labels[i] === label);
}

/** First position in ascending `a` whose value is ≥ x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
