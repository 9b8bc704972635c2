/**
 * `runEvents(id)`: a run's events, the current state first. A subscriber gets the run's status, then
 * every epoch and subset stored so far (so a late subscriber misses nothing), then live events; the
 * stream ends after the run reaches SUCCEEDED, FAILED or CANCELLED. It listens before it reads the
 * stored state, and drops live events the snapshot already covered.
 */
import type { RunRow } from "../../db/schema.ts";
import { isTerminal, type RunEvent } from "../../runs/events.ts";
import { builder, type Ctx } from "../builder.ts";
import { parseIdOf } from "../ids.ts";
import { EpochMetricsRef } from "./epoch_metrics.ts";
import { RunRef, RunStatusEnum } from "./run.ts";
import { SubsetRef } from "./subset.ts";

type Ev<T extends RunEvent["type"]> = Extract<RunEvent, { type: T }>;

/**
 * A live event's run, read once for all of its subscribers: the pubsub hands every subscriber the same
 * event object, so keyed by it the read is shared — otherwise N subscribers asking for `run` would cost N
 * reads per event. (Replayed events are each subscriber's own objects, read once per subscriber.)
 */
const runOfEvent = new WeakMap<RunEvent, Promise<RunRow>>();
function eventRun(e: RunEvent, ctx: Ctx): Promise<RunRow> {
  let run = runOfEvent.get(e);
  if (!run) runOfEvent.set(e, run = ctx.loaders.run.load(e.runId));
  return run;
}

const StatusChangedRef = builder.objectRef<Ev<"StatusChanged">>("StatusChanged").implement({
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: (e, _a, ctx) => eventRun(e, ctx) }),
    status: t.field({ type: RunStatusEnum, resolve: (e) => e.status }),
    error: t.exposeString("error", { nullable: true }),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

const EpochCompletedRef = builder.objectRef<Ev<"EpochCompleted">>("EpochCompleted").implement({
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: (e, _a, ctx) => eventRun(e, ctx) }),
    epoch: t.field({ type: EpochMetricsRef, resolve: (e) => e.epoch }),
  }),
});

const SubsetSelectedRef = builder.objectRef<Ev<"SubsetSelected">>("SubsetSelected").implement({
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: (e, _a, ctx) => eventRun(e, ctx) }),
    subset: t.field({ type: SubsetRef, resolve: (e) => e.subset }),
  }),
});

const RunEventRef = builder.unionType("RunEvent", {
  types: [StatusChangedRef, EpochCompletedRef, SubsetSelectedRef],
  resolveType: (e) => e.type,
});

builder.subscriptionField("runEvents", (t) =>
  t.field({
    type: RunEventRef,
    args: { id: t.arg.id({ required: true }) },
    subscribe: async function* (_r, { id }, ctx) {
      const runId = parseIdOf("Run", String(id));
      const live = ctx.service.pubsub.subscribe("runEvent", runId)[Symbol.asyncIterator]();
      // A Repeater starts listening on its first next(): call it now, before reading the state.
      let next = live.next();
      const stopped = new Promise<IteratorResult<RunEvent>>((resolve) => {
        if (ctx.shutdown.aborted) resolve({ done: true, value: undefined });
        ctx.shutdown.addEventListener("abort", () => resolve({ done: true, value: undefined }), {
          once: true,
        });
      });
      try {
        const run = await ctx.service.run(runId);
        const [epochs, subsets] = await Promise.all([
          ctx.service.epochs(runId),
          ctx.service.subsetsOf(runId),
        ]);
        const seenEpoch = Math.max(0, ...epochs.map((e) => e.epoch));
        const seenSubsets = new Set(subsets.map((s) => s.id));
        yield {
          type: "StatusChanged",
          runId,
          status: run.status,
          error: run.error,
          at: new Date(),
        } as RunEvent;
        // Replay in the order they happened: a subset precedes the epoch that first trains on it.
        const past: RunEvent[] = [
          ...subsets.map((s) => ({ type: "SubsetSelected" as const, runId, subset: s })),
          ...epochs.map((e) => ({ type: "EpochCompleted" as const, runId, epoch: e })),
        ].sort((a, b) => order(a) - order(b));
        for (const e of past) yield e;
        if (isTerminal(run.status)) return;
        let status = run.status;
        while (true) {
          const r = await Promise.race([next, stopped]);
          if (r.done) return;
          next = live.next();
          const e = r.value;
          if (e.type === "EpochCompleted" && e.epoch.epoch <= seenEpoch) continue;
          if (e.type === "SubsetSelected" && seenSubsets.has(e.subset.id)) continue;
          if (e.type === "StatusChanged") {
            if (e.status === status) continue;
            status = e.status;
          }
          yield e;
          if (e.type === "StatusChanged" && isTerminal(e.status)) return;
        }
      } finally {
        await live.return?.();
      }
    },
    resolve: (e) => e,
  }));

/** Sort key of a replayed event: subsets at (epoch − ½), epochs at their number. */
function order(e: RunEvent): number {
  if (e.type === "SubsetSelected") return e.subset.epoch - 0.5;
  if (e.type === "EpochCompleted") return e.epoch.epoch;
  return -1;
}
