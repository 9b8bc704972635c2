/**
 * Datasets without a shared filesystem. On PostgreSQL, an imported dataset's files (meta.json and the
 * data files of the store) are also written to `dataset_chunks` in 1 MiB chunks, each with its SHA-256.
 * A worker that does not hold the dataset (or holds another version: the checksum differs) fetches the
 * chunks, checks every chunk and every file, and writes the dataset into its own store, where later
 * runs find it by checksum. An embedded PGlite service has no remote workers and skips the upload.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Dataset, DatasetStore } from "../data/store.ts";
import { sha256Hex } from "../data/io.ts";
import { ChecksumMismatchError } from "../data/errors.ts";
import type { Db } from "../db/client.ts";
import { datasetChunks, type DatasetRow } from "../db/schema.ts";
import { GradsiftError } from "../errors.ts";
import type { RunService } from "./service.ts";

export const CHUNK_BYTES = 1 << 20;

/** Writes the store's files of dataset `name` to the database as chunks (replacing any earlier ones). */
export async function uploadDataset(
  db: Db,
  datasetId: number,
  store: DatasetStore,
  name: string,
): Promise<number> {
  const meta = await store.meta(name);
  const dir = store.dir(name);
  let chunks = 0;
  await db.transaction(async (tx) => {
    await tx.delete(datasetChunks).where(eq(datasetChunks.datasetId, datasetId));
    for (const file of ["meta.json", ...Object.keys(meta.files)]) {
      const bytes = await Deno.readFile(`${dir}/${file}`);
      // An empty file is still one (empty) chunk, so the file is known to exist.
      for (let at = 0, chunk = 0; at < bytes.length || chunk === 0; at += CHUNK_BYTES, chunk++) {
        const data = bytes.subarray(at, Math.min(at + CHUNK_BYTES, bytes.length));
        await tx.insert(datasetChunks).values({
          datasetId,
          file,
          chunk,
          sha256: await sha256Hex(data),
          data,
        });
        chunks++;
      }
    }
  });
  return chunks;
}

/** Whether the database holds a dataset's files. */
export async function hasChunks(db: Db, datasetId: number): Promise<boolean> {
  const [r] = await db.select({ n: sql<number>`count(*)::int` }).from(datasetChunks)
    .where(and(eq(datasetChunks.datasetId, datasetId), eq(datasetChunks.chunk, 0)));
  return r.n > 0;
}

/**
 * The dataset of a run, from the local store when it holds this version (same checksum), else fetched
 * from the database into the local store first.
 */
export async function loadRunDataset(
  service: RunService,
  store: DatasetStore,
  ds: DatasetRow,
  log: (msg: string) => void = () => {},
): Promise<Dataset> {
  if (await store.has(ds.name) && (await store.meta(ds.name)).checksum === ds.checksum) {
    return await store.get(ds.name);
  }
  if (!(await hasChunks(service.db, ds.id))) {
    throw new GradsiftError(
      "INTERNAL",
      `dataset ${ds.name} is neither in this worker's store (${store.root}) nor in the database; ` +
        `workers on other machines need the service on PostgreSQL, which stores imported datasets`,
    );
  }
  const t0 = performance.now();
  const files = await fetchDataset(service.db, ds);
  const bytes = [...files.values()].reduce((a, b) => a + b.byteLength, 0);
  await store.putFiles(ds.name, files, { overwrite: true });
  log(
    `dataset ${ds.name}: fetched ${(bytes / 1e6).toFixed(1)} MB from the database in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return await store.get(ds.name);
}

/** Reads and checks every chunk of a dataset; returns file name → bytes. */
async function fetchDataset(db: Db, ds: DatasetRow): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array[]>();
  const names = await db.selectDistinct({ file: datasetChunks.file }).from(datasetChunks)
    .where(eq(datasetChunks.datasetId, ds.id));
  for (const { file } of names) {
    // One file at a time, in chunk order, so memory holds a file's chunks once.
    const rows = await db.select().from(datasetChunks)
      .where(and(eq(datasetChunks.datasetId, ds.id), eq(datasetChunks.file, file))).orderBy(
        asc(datasetChunks.chunk),
      );
    const parts: Uint8Array[] = [];
    for (const [i, r] of rows.entries()) {
      const data = new Uint8Array(r.data);
      if (r.chunk !== i) throw new ChecksumMismatchError(`${ds.name}/${file}`, `chunk ${i} is missing`);
      const sha = await sha256Hex(data);
      if (sha !== r.sha256) {
        throw new ChecksumMismatchError(
          `${ds.name}/${file}`,
          `chunk ${i} has SHA-256 ${sha}, stored ${r.sha256}`,
        );
      }
      parts.push(data);
    }
    files.set(file, parts);
  }
  return new Map([...files].map(([f, parts]) => [f, concat(parts)]));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
