/**
 * The run queue on pg-boss 12. On PostgreSQL pg-boss opens its own pool from the connection string;
 * on PGlite it runs through pg-boss's own PGlite adapter (`fromPglite`: SQL without parameters may
 * hold several statements and goes through PGlite's `exec`, returning the rows of every statement in
 * order, which pg-boss's advisory-lock claim relies on) with the `pglite` backend profile.
 *
 * A run's job only carries its id; the run row is the truth. Failure handling is pg-boss's:
 * - a worker heart-beats its job every `heartbeatSeconds / 2`; a job whose heartbeat is older than
 *   `heartbeatSeconds` (the worker was killed, or lost the database) is failed by pg-boss's supervisor
 *   (every `superviseSeconds`) and handed out again, up to `retryLimit` times — the worker that takes
 *   it resumes the run from its last checkpoint;
 * - a job out of retries goes to the dead-letter queue, where any gradsift process marks its run FAILED
 *   with the reason, so no run is left RUNNING.
 * A run's own failure (bad data, NaN loss…) is stored by the worker and its job completes: not retried.
 */
import { fromPglite, PgBoss } from "pg-boss";
import type { DbHandle } from "../db/client.ts";
import { RUN_QUEUE, type RunQueue, type RunService } from "./service.ts";

export interface RunJob {
  runId: number;
}

/** Where jobs out of retries go. */
export const RUN_DEAD_QUEUE = "gradsift-runs-dead";

export interface QueueSettings {
  /** A job without a heartbeat for this long is given to another worker [10 s; pg-boss's minimum]. */
  heartbeatSeconds: number;
  /** Times a lost run is handed out again before it is FAILED [2]. */
  retryLimit: number;
  /** How often pg-boss looks for lost jobs [2 s]. */
  superviseSeconds: number;
  /**
   * Wake idle workers by NOTIFY when a run is queued (PostgreSQL) [true]; off, they poll every 0.5 s
   * (e.g. behind PgBouncer in transaction mode, where LISTEN does not work).
   */
  notify: boolean;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  heartbeatSeconds: 10,
  retryLimit: 2,
  superviseSeconds: 2,
  notify: true,
};

/** Starts pg-boss on the database of `handle` and creates (or updates) the run queues. */
export async function startBoss(
  handle: DbHandle,
  settings: QueueSettings = DEFAULT_QUEUE_SETTINGS,
  opts: {
    /** pg-boss's own connections on PostgreSQL [4]. */
    poolSize?: number;
    /**
     * Run pg-boss's supervisor here (finds lost jobs, maintenance) [true]. `gradsift worker` leaves it
     * to the API processes, so that idle workers cost the database little.
     */
    supervise?: boolean;
  } = {},
): Promise<PgBoss> {
  // Heartbeat failures are found by the monitor step of a supervise pass, gated by monitorIntervalSeconds.
  const common = {
    schema: "pgboss",
    supervise: opts.supervise ?? true,
    superviseIntervalSeconds: settings.superviseSeconds,
    monitorIntervalSeconds: settings.superviseSeconds,
    // Workers read the backlog (to fetch back to back) from this cache.
    queueCacheIntervalSeconds: settings.superviseSeconds,
  };
  const boss = handle.pglite
    ? new PgBoss({ db: fromPglite(handle.pglite), backend: "pglite", ...common })
    // On PostgreSQL a job's creation NOTIFYs, so idle workers wake at once instead of at their next poll.
    : new PgBoss({
      connectionString: handle.url!,
      max: opts.poolSize ?? 4,
      useListenNotify: settings.notify,
      ...common,
    });
  boss.on("error", (e) => console.error(`gradsift: pg-boss: ${e instanceof Error ? e.message : e}`));
  await boss.start();
  if (!(await boss.getQueue(RUN_DEAD_QUEUE))) {
    await boss.createQueue(RUN_DEAD_QUEUE, { retryLimit: 0 }).catch(ignoreExists);
  }
  const options = {
    retryLimit: settings.retryLimit,
    retryDelay: 0,
    heartbeatSeconds: settings.heartbeatSeconds,
    expireInSeconds: 24 * 3600,
    deadLetter: RUN_DEAD_QUEUE,
    notify: !handle.pglite && settings.notify,
  };
  if (await boss.getQueue(RUN_QUEUE)) await boss.updateQueue(RUN_QUEUE, options);
  else await boss.createQueue(RUN_QUEUE, options).catch(ignoreExists);
  return boss;
}

/** Another process created the queue between our check and our create: fine. */
function ignoreExists(e: unknown): void {
  if (!/exists|duplicate/i.test(String(e))) throw e;
}

/** The service's view of the queue. */
export function bossQueue(boss: PgBoss): RunQueue {
  return {
    send: async (runId: number) => {
      await boss.send(RUN_QUEUE, { runId } satisfies RunJob);
    },
  };
}

/** Marks the runs of dead-lettered jobs (out of retries) FAILED. Every `gradsift serve` runs this. */
export async function watchDeadLetters(
  boss: PgBoss,
  service: RunService,
  settings: QueueSettings,
): Promise<void> {
  await boss.work<RunJob>(RUN_DEAD_QUEUE, { batchSize: 10, pollingIntervalSeconds: 2 }, async (jobs) => {
    for (const job of jobs) {
      const reason = `interrupted: its worker was lost ${settings.retryLimit + 1} time(s) ` +
        `(no heartbeat for ${settings.heartbeatSeconds} s)`;
      await service.finish(job.data.runId, ["QUEUED", "RUNNING"], "FAILED", reason);
    }
  });
}
