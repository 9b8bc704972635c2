/**
 * Built-in datasets, imported into the store on first use: `fashion-mnist` from Debian's
 * dataset-fashion-mnist package, and seeded Gaussian blobs (`blobs-N-D-C-SEED`) for trials and tests.
 */
import { DatasetStore } from "./store.ts";
import type { Dataset } from "./store.ts";
import { loadFashionMnist } from "./fashion_mnist.ts";
import { gaussianBlobsDataset } from "./generate.ts";
import { DatasetNotFoundError } from "./errors.ts";

/** Names that `openDataset` can create when they are not in the store yet. */
export function isBuiltin(name: string): boolean {
  return name === "fashion-mnist" || /^blobs-\d+-\d+-\d+-\d+$/.test(name);
}

/** Imports a built-in dataset into the store (no-op when present); returns whether it imported. */
export async function ensureBuiltin(
  store: DatasetStore,
  name: string,
  log?: (msg: string) => void,
): Promise<boolean> {
  if (await store.has(name)) return false;
  if (name === "fashion-mnist") {
    log?.("importing Fashion-MNIST from /usr/share/datasets/fashion-mnist …");
    await store.put(name, await loadFashionMnist());
    return true;
  }
  const m = /^blobs-(\d+)-(\d+)-(\d+)-(\d+)$/.exec(name);
  if (m) {
    const [n, d, classes, seed] = m.slice(1).map(Number);
    await store.put(name, gaussianBlobsDataset({ n, d, classes, seed, nTest: Math.ceil(n / 5) }));
    return true;
  }
  return false;
}

/** Opens a dataset by name, importing built-ins on first use. */
export async function openDataset(
  name: string,
  opts: { store?: DatasetStore; log?: (msg: string) => void } = {},
): Promise<Dataset> {
  const store = opts.store ?? new DatasetStore();
  if (!(await store.has(name))) {
    if (!isBuiltin(name)) throw new DatasetNotFoundError(name, store.root);
    await ensureBuiltin(store, name, opts.log);
  }
  return await store.get(name);
}
