/**
 * Importing datasets: the built-ins (`fashion-mnist`, `blobs-N-D-C-SEED`) go into the on-disk store
 * and get a row in `datasets`, IMPORTING until the data is written, then READY with its metadata (or
 * FAILED with the reason). The import runs in the background; `done` resolves when it has settled.
 */
import { eq } from "drizzle-orm";
import { ensureBuiltin, isBuiltin } from "../data/builtin.ts";
import type { DatasetStore } from "../data/store.ts";
import { type DatasetRow, datasets } from "../db/schema.ts";
import { InvalidInputError } from "../errors.ts";
import { ConflictError, type RunService } from "./service.ts";
import { uploadDataset } from "./dataset_sync.ts";

export interface ImportHandle {
  dataset: DatasetRow;
  done: Promise<DatasetRow>;
}

/** Starts importing a built-in dataset; CONFLICT when it is already imported or importing. */
export async function importBuiltinDataset(
  service: RunService,
  store: DatasetStore,
  name: string,
  log: (msg: string) => void = () => {},
): Promise<ImportHandle> {
  if (!isBuiltin(name)) {
    throw new InvalidInputError(
      `"${name}" is not a built-in dataset: use fashion-mnist or blobs-N-D-C-SEED (e.g. blobs-600-16-4-1)`,
    );
  }
  const db = service.db;
  const existing = await service.datasetByName(name);
  let row: DatasetRow;
  if (existing && existing.status !== "FAILED") {
    throw new ConflictError(
      `dataset ${name} is already ${existing.status === "READY" ? "imported" : "importing"}`,
    );
  } else if (existing) {
    [row] = await db.update(datasets).set({ status: "IMPORTING", error: null })
      .where(eq(datasets.id, existing.id)).returning();
  } else {
    const inserted = await db.insert(datasets).values({ name, source: `built-in:${name}` })
      .onConflictDoNothing().returning();
    if (!inserted.length) throw new ConflictError(`dataset ${name} is already being imported`);
    row = inserted[0];
  }
  const done = (async () => {
    try {
      await ensureBuiltin(store, name, log);
      const meta = await store.meta(name);
      if (service.distributeDatasets) await uploadDataset(db, row.id, store, name);
      const [ready] = await db.update(datasets).set({
        status: "READY",
        source: meta.source,
        numTrain: meta.numTrain,
        numTest: meta.numTest,
        numClasses: meta.numClasses,
        inputShape: meta.inputShape,
        classCounts: meta.classCounts,
        checksum: meta.checksum,
      }).where(eq(datasets.id, row.id)).returning();
      return ready;
    } catch (e) {
      log(`import of ${name} failed: ${e instanceof Error ? e.message : e}`);
      const [failed] = await db.update(datasets)
        .set({ status: "FAILED", error: e instanceof Error ? e.message : String(e) })
        .where(eq(datasets.id, row.id)).returning();
      return failed;
    }
  })();
  return { dataset: row, done };
}
