/**
 * The run service: everything the API does with runs and datasets goes through here — creating runs
 * (validated, stored QUEUED, sent to the pg-boss queue), cancelling and deleting them, the stored
 * status transitions, epochs and subsets the worker reports, and the read queries (keyset pages).
 *
 * Every transition is a conditional UPDATE (`… WHERE status = <expected>`), so a late write from a
 * worker cannot resurrect a run that was cancelled or recovered meanwhile.
 */
import { and, asc, desc, eq, gt, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import {
  type DatasetRow,
  datasets,
  epochMetrics,
  type EpochRow,
  type MemberRow,
  type RunKind,
  type RunRow,
  runs,
  type RunStatus,
  type RunTimings,
  subsetMembers,
  type SubsetRow,
  subsets,
} from "../db/schema.ts";
import { GradsiftError } from "../errors.ts";
import { isTerminal, type RunEvent, type RunPubSub } from "./events.ts";
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

  constructor(db: Db, pubsub: RunPubSub) {
    this.db = db;
    this.pubsub = pubsub;
  }

  publish(event: RunEvent): void {
    this.pubsub.publish("runEvent", event.runId, event);
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

  /** QUEUED → RUNNING; returns null when the run is no longer queued (cancelled, deleted). */
  async claim(id: number): Promise<RunRow | null> {
    const [row] = await this.db.update(runs).set({ status: "RUNNING", startedAt: new Date() })
      .where(and(eq(runs.id, id), eq(runs.status, "QUEUED"))).returning();
    if (row) {
      this.publish({ type: "StatusChanged", runId: id, status: "RUNNING", error: null, at: new Date() });
    }
    return row ?? null;
  }

  /** Moves a run in one of `from` to a terminal status; returns false when it was in none of them. */
  async finish(
    id: number,
    from: RunStatus[],
    status: RunStatus,
    error: string | null,
    timings?: RunTimings,
  ): Promise<boolean> {
    const at = new Date();
    const set: Partial<RunRow> = { status, error, finishedAt: at };
    if (status === "SUCCEEDED") set.progress = 1;
    if (timings) set.timings = timings;
    const rows = await this.db.update(runs).set(set)
      .where(and(eq(runs.id, id), inArray(runs.status, from))).returning({ id: runs.id });
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

  /** Runs found RUNNING at start-up were interrupted by a crash or restart: mark them FAILED. */
  async recoverInterrupted(): Promise<number> {
    const rows = await this.db.update(runs)
      .set({ status: "FAILED", error: "interrupted", finishedAt: new Date() })
      .where(eq(runs.status, "RUNNING")).returning({ id: runs.id });
    await this.db.update(datasets).set({ status: "FAILED", error: "interrupted" })
      .where(eq(datasets.status, "IMPORTING"));
    return rows.length;
  }

  /** Stores an epoch (and the run's progress) and publishes it. */
  async recordEpoch(id: number, e: RunEpoch, epochs: number): Promise<void> {
    const [row] = await this.db.insert(epochMetrics).values({
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
    await this.db.update(runs).set({ progress: Math.min(1, e.epoch / epochs) })
      .where(and(eq(runs.id, id), eq(runs.status, "RUNNING")));
    this.publish({ type: "EpochCompleted", runId: id, epoch: row });
  }

  /** Stores a subset with its members (labels from the training split) and publishes it. */
  async recordSubset(id: number, s: RunSubset, labels: Uint32Array): Promise<SubsetRow> {
    const row = await this.db.transaction(async (tx) => {
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
