/**
 * The run service: everything the API does with runs and datasets goes through here — creating runs
 * (validated, stored QUEUED, sent to the pg-boss queue), cancelling and deleting them, the stored
 * status transitions, epochs and subsets the worker reports, and the read queries (keyset pages).
 *
 * Every transition is a conditional UPDATE (`… WHERE status = <expected>`), so a late write from a
 * worker cannot resurrect a run that was cancelled or recovered meanwhile.
 */
import { and, asc, desc, eq, gt, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import {
  type DatasetRow,
  datasets,
  epochMetrics,
  type EpochRow,
  type MemberRow,
  runCheckpoints,
  type RunKind,
  type RunRow,
  runs,
  type RunStatus,
  type RunTimings,
  subsetMembers,
  type SubsetRow,
  subsets,
  type WorkerRow,
  workers,
} from "../db/schema.ts";
import { GradsiftError } from "../errors.ts";
import { type EventBus, isTerminal, localBus, type RunEvent, type RunPubSub } from "./events.ts";
import { type RunRequest, validateRequest } from "./params.ts";
import type { RunEpoch, RunSubset } from "./training.ts";
import { memberPage } from "./member_pages.ts";

/** The queue pg-boss carries run ids on. */
export const RUN_QUEUE = "gradsift-runs";

/** A page of rows in key order, and whether more follow. */
export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
}

export interface RunFilter {
  status?: RunStatus[] | null;
  kind?: RunKind | null;
  datasetId?: number | null;
}

export type MemberOrder = "INDEX" | "WEIGHT_DESC";
/** Keyset position after which a member page starts. */
export type MemberKey = { index: number; weight?: number };

/**
 * Who holds a running run: the worker's id and the attempt it claimed. Every write a worker makes for a
 * run is conditional on it (a fencing token), so a worker that lost its claim — its heartbeat went
 * stale and another worker resumed the run — can no longer change the run.
 */
export interface Lease {
  workerId: string;
  attempt: number;
}

/** The run was taken over by another worker (or finished elsewhere): stop working on it. */
export class LeaseLostError extends GradsiftError {
  constructor(runId: number) {
    super("CONFLICT", `run ${runId} is no longer held by this worker`);
  }
}

/** A worker as listed by the `workers` query. */
export type WorkerState = "ALIVE" | "LOST" | "STOPPED";

/** What the service needs from the queue: `send` a run id. */
export interface RunQueue {
  send(runId: number): Promise<void>;
}

/** A run executing in this process: how to stop it, and when it has stopped. */
export interface LocalRun {
  controller: AbortController;
  done: Promise<void>;
}

export class NotFoundError extends GradsiftError {
  constructor(message: string) {
    super("NOT_FOUND", message);
  }
}

export class ConflictError extends GradsiftError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

const MEMBER_CHUNK = 2000; // rows per INSERT: 4 parameters each, well under PostgreSQL's 65,535

export class RunService {
  readonly db: Db;
  readonly pubsub: RunPubSub;
  queue: RunQueue | null = null;
  /** Runs executing in this process (registered by the worker). */
  readonly local = new Map<number, LocalRun>();

  /** Where events go: in-process, or to every process through LISTEN/NOTIFY (see ./events.ts). */
  bus: EventBus;
  /** Store imported datasets in the database for workers on other machines (PostgreSQL). */
  distributeDatasets = false;
  /** A worker without a heartbeat for this long is LOST (the queue's heartbeat window). */
  workerStaleSeconds = 10;

  constructor(db: Db, pubsub: RunPubSub) {
    this.db = db;
    this.pubsub = pubsub;
    this.bus = localBus(pubsub);
  }

  publish(event: RunEvent): void {
    this.bus.publish(event);
  }

  // ---- runs: writes -------------------------------------------------------------------------

  /** Validates, stores the run QUEUED and queues it. */
  async createRun(req: RunRequest): Promise<RunRow> {
    const ds = await this.dataset(req.datasetId);
    if (ds.status === "IMPORTING") {
      throw new ConflictError(`dataset ${ds.name} is still importing; start the run once it is READY`);
    }
    if (ds.status === "FAILED") {
      throw new ConflictError(`dataset ${ds.name} failed to import (${ds.error}); import it again`);
    }
    const { strategy, budget, params } = validateRequest(req, ds.numTrain);
    const [run] = await this.db.insert(runs).values({
      kind: req.kind,
      datasetId: ds.id,
      strategy,
      budget,
      params: params as unknown as Record<string, unknown>,
    }).returning();
    if (!this.queue) throw new GradsiftError("INTERNAL", "the run queue is not started");
    try {
      await this.queue.send(run.id);
    } catch (e) {
      await this.finish(run.id, ["QUEUED"], "FAILED", `could not queue the run: ${e}`);
      throw e;
    }
    return run;
  }

  /**
   * Claims a run for `workerId`: QUEUED → RUNNING, or takes over a RUNNING run whose worker stopped
   * heart-beating more than `staleSeconds` ago (a crashed worker: pg-boss hands its job out again).
   * Returns the run with its new lease, or null when there is nothing to claim (cancelled, finished,
   * or held by a live worker).
   */
  async claim(id: number, workerId: string, staleSeconds: number): Promise<RunRow | null> {
    const live = sql`select ${workers.id} from ${workers}
      where ${workers.heartbeatAt} > now() - make_interval(secs => ${staleSeconds}) and ${workers.stoppedAt} is null`;
    const [row] = await this.db.update(runs).set({
      status: "RUNNING",
      startedAt: sql`coalesce(${runs.startedAt}, now())`,
      workerId,
      attempts: sql`${runs.attempts} + 1`,
    }).where(and(
      eq(runs.id, id),
      or(
        eq(runs.status, "QUEUED"),
        and(eq(runs.status, "RUNNING"), or(isNull(runs.workerId), sql`${runs.workerId} not in (${live})`)),
      ),
    )).returning();
    if (row) {
      this.publish({ type: "StatusChanged", runId: id, status: "RUNNING", error: null, at: new Date() });
    }
    return row ?? null;
  }

  /** The condition a leased write adds: the run is RUNNING under this lease. */
  #held(id: number, lease: Lease | undefined): SQL {
    return lease
      ? and(
        eq(runs.id, id),
        eq(runs.status, "RUNNING"),
        eq(runs.workerId, lease.workerId),
        eq(runs.attempts, lease.attempt),
      )!
      : and(eq(runs.id, id), eq(runs.status, "RUNNING"))!;
  }

  /** Throws `LeaseLostError` unless the run is RUNNING under `lease` (locks the row in a transaction). */
  async #hold(tx: Pick<Db, "select">, id: number, lease: Lease | undefined): Promise<void> {
    if (!lease) return;
    const rows = await tx.select({ id: runs.id }).from(runs).where(this.#held(id, lease)).for("update");
    if (!rows.length) throw new LeaseLostError(id);
  }

  /**
   * Hands a running run back to the queue (a worker shutting down): RUNNING → QUEUED under `lease`; the
   * caller queues it again, and the next worker resumes it from its checkpoint.
   */
  async handBack(id: number, lease: Lease): Promise<boolean> {
    const rows = await this.db.update(runs).set({ status: "QUEUED" }).where(this.#held(id, lease))
      .returning({ id: runs.id });
    if (rows.length) {
      this.publish({ type: "StatusChanged", runId: id, status: "QUEUED", error: null, at: new Date() });
    }
    return rows.length > 0;
  }

  /** Stores a run's latest checkpoint (under `lease`). */
  async saveCheckpoint(id: number, epoch: number, data: Uint8Array, lease?: Lease): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.#hold(tx, id, lease);
      await tx.insert(runCheckpoints).values({ runId: id, epoch, data })
        .onConflictDoUpdate({ target: runCheckpoints.runId, set: { epoch, data, updatedAt: new Date() } });
    });
  }

  /**
   * Prepares a claimed run for (re)starting: returns its checkpoint, if any, after deleting the epochs
   * and subsets recorded after it (they are produced again).
   */
  async resumePoint(id: number): Promise<{ epoch: number; data: Uint8Array } | null> {
    const [ck] = await this.db.select({ epoch: runCheckpoints.epoch, data: runCheckpoints.data })
      .from(runCheckpoints).where(eq(runCheckpoints.runId, id));
    const after = ck?.epoch ?? 0;
    await this.db.delete(epochMetrics).where(and(eq(epochMetrics.runId, id), gt(epochMetrics.epoch, after)));
    await this.db.delete(subsets).where(and(eq(subsets.runId, id), gt(subsets.epoch, after)));
    return ck ? { epoch: ck.epoch, data: new Uint8Array(ck.data) } : null;
  }

  /** Moves a run in one of `from` to a terminal status; returns false when it was in none of them. */
  async finish(
    id: number,
    from: RunStatus[],
    status: RunStatus,
    error: string | null,
    timings?: RunTimings,
    lease?: Lease,
  ): Promise<boolean> {
    const at = new Date();
    const set: Partial<RunRow> = { status, error, finishedAt: at };
    if (status === "SUCCEEDED") set.progress = 1;
    if (timings) set.timings = timings;
    const where = lease ? this.#held(id, lease) : and(eq(runs.id, id), inArray(runs.status, from));
    const rows = await this.db.update(runs).set(set).where(where).returning({ id: runs.id });
    if (rows.length) await this.db.delete(runCheckpoints).where(eq(runCheckpoints.runId, id));
    if (rows.length) this.publish({ type: "StatusChanged", runId: id, status, error, at });
    return rows.length > 0;
  }

  /**
   * Cancels a run. A queued run is cancelled at once; a running one in this process is aborted (the
   * trainer stops after the batch in flight) and this waits for it to stop. Finished runs: CONFLICT.
   */
  async cancelRun(id: number): Promise<RunRow> {
    const run = await this.run(id);
    if (isTerminal(run.status)) {
      throw new ConflictError(
        `run ${id} is already ${run.status}; only QUEUED or RUNNING runs can be cancelled`,
      );
    }
    const local = this.local.get(id);
    if (local) {
      local.controller.abort("cancelled by request");
      await local.done;
    } else if (!(await this.finish(id, ["QUEUED", "RUNNING"], "CANCELLED", null))) {
      // It moved on meanwhile (started here, or finished): cancel what it is now.
      const now = this.local.get(id);
      if (now) {
        now.controller.abort("cancelled by request");
        await now.done;
      }
    }
    return await this.run(id);
  }

  /** Deletes a finished run with its epochs and subsets; a queued or running one is a CONFLICT. */
  async deleteRun(id: number): Promise<void> {
    const run = await this.run(id);
    if (!isTerminal(run.status)) {
      throw new ConflictError(`run ${id} is ${run.status}: cancel it before deleting it`);
    }
    await this.db.delete(runs).where(eq(runs.id, id));
  }

  /**
   * At the start of an embedded (single-process) service: imports left IMPORTING by the previous process
   * are FAILED ("interrupted"). Runs left RUNNING need nothing here: their pg-boss jobs stop
   * heart-beating, pg-boss hands them out again, and a worker resumes them from their checkpoints.
   */
  async recoverImports(): Promise<number> {
    const rows = await this.db.update(datasets).set({ status: "FAILED", error: "interrupted" })
      .where(eq(datasets.status, "IMPORTING")).returning({ id: datasets.id });
    return rows.length;
  }

  /** Stores an epoch (and the run's progress) and publishes it. */
  async recordEpoch(id: number, e: RunEpoch, epochs: number, lease?: Lease): Promise<void> {
    const row = await this.db.transaction(async (tx) => {
      await this.#hold(tx, id, lease);
      const [row] = await tx.insert(epochMetrics).values({
        runId: id,
        epoch: e.epoch,
        trainLoss: e.trainLoss,
        testLoss: Number.isFinite(e.testLoss) ? e.testLoss : null,
        testAccuracy: Number.isFinite(e.testAccuracy) ? e.testAccuracy : null,
        seconds: e.seconds,
        selectionSeconds: e.selectionSeconds,
        trainSeconds: e.trainSeconds,
        subsetSize: e.subsetSize,
      }).returning();
      await tx.update(runs).set({ progress: Math.min(1, e.epoch / epochs) }).where(this.#held(id, lease));
      return row;
    });
    this.publish({ type: "EpochCompleted", runId: id, epoch: row });
  }

  /** Stores a subset with its members (labels from the training split) and publishes it. */
  async recordSubset(id: number, s: RunSubset, labels: Uint32Array, lease?: Lease): Promise<SubsetRow> {
    const row = await this.db.transaction(async (tx) => {
      await this.#hold(tx, id, lease);
      const [sub] = await tx.insert(subsets).values({
        runId: id,
        round: s.round,
        epoch: s.epoch,
        size: s.indices.length,
        seconds: s.seconds,
        classCounts: s.classCounts,
      }).returning();
      for (let at = 0; at < s.indices.length; at += MEMBER_CHUNK) {
        const values = [];
        for (let i = at; i < Math.min(at + MEMBER_CHUNK, s.indices.length); i++) {
          const index = s.indices[i];
          values.push({ subsetId: sub.id, index, label: labels[index], weight: s.weights[i] });
        }
        await tx.insert(subsetMembers).values(values);
      }
      return sub;
    });
    // Fresh planner statistics, or member pages sort the whole subset instead of scanning an index
    // (PGlite has no autovacuum; PostgreSQL's would come only later).
    await this.db.execute(sql`analyze subset_members`);
    this.publish({ type: "SubsetSelected", runId: id, subset: row });
    return row;
  }

  // ---- reads -----------------------------------------------------------------------------------

  async run(id: number): Promise<RunRow> {
    const row = await this.findRun(id);
    if (!row) throw new NotFoundError(`run ${id} does not exist`);
    return row;
  }

  async findRun(id: number): Promise<RunRow | null> {
    const [row] = await this.db.select().from(runs).where(eq(runs.id, id));
    return row ?? null;
  }

  /** Runs, newest first. */
  async listRuns(filter: RunFilter, first: number, afterId: number | null): Promise<Page<RunRow>> {
    const where: SQL[] = [];
    if (filter.status?.length) where.push(inArray(runs.status, filter.status));
    if (filter.kind) where.push(eq(runs.kind, filter.kind));
    if (filter.datasetId != null) where.push(eq(runs.datasetId, filter.datasetId));
    if (afterId !== null) where.push(lt(runs.id, afterId));
    const rows = await this.db.select().from(runs).where(and(...where)).orderBy(desc(runs.id)).limit(
      first + 1,
    );
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async countRuns(filter: RunFilter): Promise<number> {
    const where: SQL[] = [];
    if (filter.status?.length) where.push(inArray(runs.status, filter.status));
    if (filter.kind) where.push(eq(runs.kind, filter.kind));
    if (filter.datasetId != null) where.push(eq(runs.datasetId, filter.datasetId));
    const [r] = await this.db.select({ n: sql<number>`count(*)::int` }).from(runs).where(and(...where));
    return r.n;
  }

  async epochs(runId: number): Promise<EpochRow[]> {
    return await this.db.select().from(epochMetrics).where(eq(epochMetrics.runId, runId))
      .orderBy(asc(epochMetrics.epoch));
  }

  async subsetsOf(runId: number): Promise<SubsetRow[]> {
    return await this.db.select().from(subsets).where(eq(subsets.runId, runId))
      .orderBy(asc(subsets.round), asc(subsets.id));
  }

  async subset(id: number): Promise<SubsetRow> {
    const [row] = await this.db.select().from(subsets).where(eq(subsets.id, id));
    if (!row) throw new NotFoundError(`subset ${id} does not exist`);
    return row;
  }

  /**
   * A page of a subset's members: by index, or by weight (heaviest first, ties by index), optionally
   * of one label. Each variant is one range scan of an index (see src/db/schema.ts).
   */
  async members(
    subsetId: number,
    opts: { first: number; after: MemberKey | null; label: number | null; orderBy: MemberOrder },
  ): Promise<Page<MemberRow>> {
    return await memberPage(this.db, subsetId, opts);
  }

  // ---- workers -----------------------------------------------------------------------------------

  async registerWorker(w: Omit<WorkerRow, "startedAt" | "heartbeatAt" | "stoppedAt">): Promise<void> {
    await this.db.insert(workers).values(w);
  }

  async heartbeat(workerId: string): Promise<void> {
    await this.db.update(workers).set({ heartbeatAt: sql`now()` }).where(eq(workers.id, workerId));
  }

  async workerStopped(workerId: string): Promise<void> {
    await this.db.update(workers).set({ stoppedAt: sql`now()` }).where(eq(workers.id, workerId));
  }

  /** Workers, newest first, each with its state (LOST: no heartbeat for `staleSeconds`) and running runs. */
  async listWorkers(staleSeconds: number): Promise<(WorkerRow & { state: WorkerState; runIds: number[] })[]> {
    const rows = await this.db.select({
      w: workers,
      stale: sql<boolean>`${workers.heartbeatAt} <= now() - make_interval(secs => ${staleSeconds})`,
    }).from(workers).orderBy(desc(workers.startedAt));
    const running = await this.db.select({ id: runs.id, workerId: runs.workerId }).from(runs)
      .where(eq(runs.status, "RUNNING"));
    return rows.map(({ w, stale }) => ({
      ...w,
      state: w.stoppedAt ? "STOPPED" : stale ? "LOST" : "ALIVE",
      runIds: running.filter((r) => r.workerId === w.id).map((r) => r.id),
    }));
  }

  async worker(id: string): Promise<WorkerRow | null> {
    const [row] = await this.db.select().from(workers).where(eq(workers.id, id));
    return row ?? null;
  }

  // ---- datasets ------------------------------------------------------------------------------

  async dataset(id: number): Promise<DatasetRow> {
    const [row] = await this.db.select().from(datasets).where(eq(datasets.id, id));
    if (!row) throw new NotFoundError(`dataset ${id} does not exist`);
    return row;
  }

  async datasetByName(name: string): Promise<DatasetRow | null> {
    const [row] = await this.db.select().from(datasets).where(eq(datasets.name, name));
    return row ?? null;
  }

  async listDatasets(first: number, afterId: number | null): Promise<Page<DatasetRow>> {
    const rows = await this.db.select().from(datasets)
      .where(afterId !== null ? gt(datasets.id, afterId) : undefined).orderBy(asc(datasets.id)).limit(
        first + 1,
      );
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async countDatasets(): Promise<number> {
    const [r] = await this.db.select({ n: sql<number>`count(*)::int` }).from(datasets);
    return r.n;
  }
}
