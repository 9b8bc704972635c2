/**
 * Per-request batch loaders (DataLoader-style): a field that would read one row per parent — a run's
 * dataset, epochs and subsets, a subset's run, `node` — asks its loader, which collects the keys asked
 * for while the current resolvers run and reads them all in one `WHERE … IN (…)` query. So
 * `runs(first: 100) { edges { node { dataset { name } epochs { epoch } subsets { size } } } }` costs
 * the same handful of statements for 1 run as for 100.
 *
 * No cache beyond one batch: a subscription keeps its context for as long as it streams, and every
 * event must see the rows as they are then. Keys asked for twice in one batch are read once.
 */
import process from "node:process";
import { asc, sql, type SQLWrapper } from "drizzle-orm";
import {
  type DatasetRow,
  datasets,
  epochMetrics,
  type EpochRow,
  type RunRow,
  runs,
  type SubsetRow,
  subsets,
} from "../db/schema.ts";
import type { Db } from "../db/client.ts";
import { NotFoundError } from "../runs/service.ts";

type Waiter<V> = { resolve: (v: V) => void; reject: (e: unknown) => void };

/** Batches `load(key)` calls made in the same turn into one `fetch(keys)`. */
export class BatchLoader<K, V> {
  #batch: Map<K, Waiter<V>[]> | null = null;
  readonly #fetch: (keys: K[]) => Promise<Map<K, V>>;
  readonly #missing: (key: K) => V | Error;

  /**
   * @param fetch reads the rows of all keys (a key absent from the map is missing)
   * @param missing what a missing key gives: a value (e.g. an empty list) or an error to throw
   */
  constructor(fetch: (keys: K[]) => Promise<Map<K, V>>, missing: (key: K) => V | Error) {
    this.#fetch = fetch;
    this.#missing = missing;
  }

  /** Number of batches fetched so far (tests). */
  batches = 0;

  load(key: K): Promise<V> {
    if (!this.#batch) {
      this.#batch = new Map();
      // As DataLoader does: wait for the promise jobs queued now (resolvers of sibling list items,
      // which graphql-js starts one after another) to run, then fetch.
      Promise.resolve().then(() => process.nextTick(() => this.#dispatch()));
    }
    const batch = this.#batch;
    return new Promise<V>((resolve, reject) => {
      const waiters = batch.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else batch.set(key, [{ resolve, reject }]);
    });
  }

  async #dispatch(): Promise<void> {
    const batch = this.#batch!;
    this.#batch = null;
    this.batches++;
    try {
      const found = await this.#fetch([...batch.keys()]);
      for (const [key, waiters] of batch) {
        const v = found.has(key) ? found.get(key)! : this.#missing(key);
        for (const w of waiters) {
          if (v instanceof Error) w.reject(v);
          else w.resolve(v);
        }
      }
    } catch (e) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
    }
  }
}

function byId<T extends { id: number }>(rows: T[]): Map<number, T> {
  return new Map(rows.map((r) => [r.id, r]));
}

function groupBy<T>(rows: T[], key: (r: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

export interface Loaders {
  dataset: BatchLoader<number, DatasetRow>;
  run: BatchLoader<number, RunRow>;
  subset: BatchLoader<number, SubsetRow>;
  /** A run's epochs, by epoch. */
  epochsOf: BatchLoader<number, EpochRow[]>;
  /** A run's subsets, by round. */
  subsetsOf: BatchLoader<number, SubsetRow[]>;
}

type Ids = { ids: number[] };
type Query<T> = { execute(p: Ids): Promise<T[]> };

/**
 * The loaders' statements, prepared once per database: `= any($1)` with the batch's ids as one array
 * parameter keeps the SQL the same for any batch size, and saves drizzle building it per request.
 */
function statements(db: Db) {
  const ids = sql.placeholder("ids");
  const any = (col: SQLWrapper) => sql`${col} = any(${ids}::int[])`;
  return {
    datasets: db.select().from(datasets).where(any(datasets.id)).prepare("loader_datasets") as Query<
      DatasetRow
    >,
    runs: db.select().from(runs).where(any(runs.id)).prepare("loader_runs") as Query<RunRow>,
    subsets: db.select().from(subsets).where(any(subsets.id)).prepare("loader_subsets") as Query<SubsetRow>,
    epochsOf: db.select().from(epochMetrics).where(any(epochMetrics.runId))
      .orderBy(asc(epochMetrics.runId), asc(epochMetrics.epoch)).prepare("loader_epochs") as Query<EpochRow>,
    subsetsOf: db.select().from(subsets).where(any(subsets.runId))
      .orderBy(asc(subsets.runId), asc(subsets.round), asc(subsets.id))
      .prepare("loader_run_subsets") as Query<SubsetRow>,
  };
}

const prepared = new WeakMap<Db, ReturnType<typeof statements>>();

/** Fresh loaders for one request (or one subscription). */
export function createLoaders(db: Db): Loaders {
  let q = prepared.get(db);
  if (!q) prepared.set(db, q = statements(db));
  const st = q;
  return {
    dataset: new BatchLoader(
      async (ids) => byId(await st.datasets.execute({ ids })),
      (id) => new NotFoundError(`dataset ${id} does not exist`),
    ),
    run: new BatchLoader(
      async (ids) => byId(await st.runs.execute({ ids })),
      (id) => new NotFoundError(`run ${id} does not exist`),
    ),
    subset: new BatchLoader(
      async (ids) => byId(await st.subsets.execute({ ids })),
      (id) => new NotFoundError(`subset ${id} does not exist`),
    ),
    epochsOf: new BatchLoader(
      async (ids) => groupBy(await st.epochsOf.execute({ ids }), (e) => e.runId),
      () => [],
    ),
    subsetsOf: new BatchLoader(
      async (ids) => groupBy(await st.subsetsOf.execute({ ids }), (s) => s.runId),
      () => [],
    ),
  };
}
