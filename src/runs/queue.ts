/**
 * The run queue on pg-boss 12. On PostgreSQL pg-boss opens its own pool from the connection string;
 * on PGlite it runs through pg-boss's own PGlite adapter (`fromPglite`: SQL without parameters may
 * hold several statements and goes through PGlite's `exec`, returning the rows of every statement in
 * order, which pg-boss's advisory-lock claim relies on) with the `pglite` backend profile.
 *
 * A run's job only carries its id; the run row is the truth. Jobs are never retried (a failed run is
 * failed; the user starts another), and expire after pg-boss's maximum of 24 h.
 */
import { fromPglite, PgBoss } from "pg-boss";
import type { DbHandle } from "../db/client.ts";
import { RUN_QUEUE, type RunQueue } from "./service.ts";

export interface RunJob {
  runId: number;
}

/** Starts pg-boss on the database of `handle` and creates the run queue. */
export async function startBoss(handle: DbHandle): Promise<PgBoss> {
  const boss = handle.pglite
    ? new PgBoss({ db: fromPglite(handle.pglite), backend: "pglite", schema: "pgboss" })
    : new PgBoss({ connectionString: handle.url!, schema: "pgboss", max: 4 });
  boss.on("error", (e) => console.error(`gradsift: pg-boss: ${e instanceof Error ? e.message : e}`));
  await boss.start();
  await boss.createQueue(RUN_QUEUE, { retryLimit: 0, expireInSeconds: 24 * 3600 });
  return boss;
}

/** The service's view of the queue. */
export function bossQueue(boss: PgBoss): RunQueue {
  return {
    send: async (runId: number) => {
      await boss.send(RUN_QUEUE, { runId } satisfies RunJob);
    },
  };
}
