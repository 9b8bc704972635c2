/**
 * Run events, published through yoga's pub/sub (one topic per run id) so that any number of
 * subscribers see the same sequence.
 *
 * Across processes (API processes and workers sharing a PostgreSQL) events travel by LISTEN/NOTIFY on
 * the channel `gradsift_run_events`: a publisher NOTIFYs, and every process — the publisher included —
 * delivers what it hears to its local subscribers, so all of them see one order (PostgreSQL delivers
 * notifications in commit order). A payload over NOTIFY's 8,000-byte limit is stored in
 * `event_payloads` and the notification carries its id. Chosen over Redis because the PostgreSQL is
 * already there: no second server to run, secure and monitor; see README "Scaling out".
 * On PGlite (one process) events are delivered in-process.
 */
import { createPubSub } from "graphql-yoga";
import { eq, lt, sql } from "drizzle-orm";
import type { DbHandle } from "../db/client.ts";
import { type EpochRow, eventPayloads, type RunStatus, type SubsetRow } from "../db/schema.ts";

export type RunEvent =
  | { type: "StatusChanged"; runId: number; status: RunStatus; error: string | null; at: Date }
  | { type: "EpochCompleted"; runId: number; epoch: EpochRow }
  | { type: "SubsetSelected"; runId: number; subset: SubsetRow };

/** Topic "runEvent", keyed by run id. */
export type RunPubSub = ReturnType<typeof createRunPubSub>;

export function createRunPubSub() {
  return createPubSub<{ runEvent: [runId: number, event: RunEvent] }>();
}

/** Statuses a run never leaves. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ["SUCCEEDED", "FAILED", "CANCELLED"];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export const EVENT_CHANNEL = "gradsift_run_events";
/** Largest payload sent inline; NOTIFY's limit is 8,000 bytes. */
export const MAX_INLINE_PAYLOAD = 7900;

/** How a process publishes run events: locally, or to every process through the database. */
export interface EventBus {
  publish(event: RunEvent): void;
  /** Resolves when every event published so far has been sent. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** In-process delivery (PGlite, tests). */
export function localBus(pubsub: RunPubSub): EventBus {
  return {
    publish: (e) => pubsub.publish("runEvent", e.runId, e),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/**
 * LISTEN/NOTIFY delivery. Sends go out one after another (one promise chain), so a process's events
 * keep their order; deliveries are chained too, so a by-reference payload that must be read back does
 * not overtake the small events after it.
 */
export async function notifyBus(
  handle: DbHandle,
  pubsub: RunPubSub,
  log: (m: string) => void,
  opts: { listen?: boolean } = {},
): Promise<EventBus> {
  const n = handle.notifications!;
  let delivering = Promise.resolve();
  const deliver = (payload: string) => {
    delivering = delivering.then(async () => {
      const msg = JSON.parse(payload) as { ref?: number };
      let text = payload;
      if (typeof msg.ref === "number") {
        const [row] = await handle.db.select().from(eventPayloads).where(eq(eventPayloads.id, msg.ref));
        if (!row) return log(`event payload ${msg.ref} is gone`);
        text = row.payload;
      }
      const event = revive(JSON.parse(text));
      pubsub.publish("runEvent", event.runId, event);
    }).catch((e) => log(`dropped a run event: ${e instanceof Error ? e.message : e}`));
  };
  // A worker only publishes: it serves no subscribers, so it does not listen (no fan-out to it, and its
  // connections can go through a transaction-mode pooler).
  const unlisten = opts.listen === false ? () => Promise.resolve() : await n.listen(EVENT_CHANNEL, deliver);
  let sending = Promise.resolve();
  return {
    publish: (event) => {
      const text = JSON.stringify(event);
      sending = sending.then(async () => {
        if (new TextEncoder().encode(text).length <= MAX_INLINE_PAYLOAD) {
          await n.notify(EVENT_CHANNEL, text);
        } else {
          const [row] = await handle.db.insert(eventPayloads).values({ payload: text }).returning();
          await n.notify(EVENT_CHANNEL, JSON.stringify({ ref: row.id }));
          // Large payloads are rare (a long error message): keep an hour of them.
          await handle.db.delete(eventPayloads).where(
            lt(eventPayloads.createdAt, sql`now() - interval '1 hour'`),
          );
        }
      }).catch((e) => log(`could not publish a run event: ${e instanceof Error ? e.message : e}`));
    },
    flush: () => sending,
    close: async () => {
      await sending;
      await unlisten().catch(() => {});
    },
  };
}

type SerializedEvent = Record<string, unknown> & { type: string; runId: number };

/** JSON back to a RunEvent (dates were ISO strings). */
function revive(e: SerializedEvent): RunEvent {
  if (e.type === "StatusChanged") return { ...e, at: new Date(e.at as string) } as RunEvent;
  if (e.type === "SubsetSelected") {
    const s = e.subset as Record<string, unknown>;
    return { ...e, subset: reviveDates(s) } as RunEvent;
  }
  return { ...e, epoch: reviveDates(e.epoch as Record<string, unknown>) } as RunEvent;
}

function reviveDates<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = { ...row };
  for (const k of ["createdAt", "updatedAt"]) {
    if (typeof out[k] === "string") out[k] = new Date(out[k] as string);
  }
  return out as T;
}
