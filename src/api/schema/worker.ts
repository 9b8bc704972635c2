/** Worker: the GPU workers taking runs (`gradsift worker`, or the one inside `gradsift serve`). */
import type { WorkerRow } from "../../db/schema.ts";
import type { WorkerState } from "../../runs/service.ts";
import { builder, type Ctx } from "../builder.ts";
import { BatchLoader } from "../loaders.ts";
import { RunRef } from "./run.ts";

export const WorkerStateEnum = builder.enumType("WorkerState", {
  values: {
    ALIVE: { description: "Heart-beating." },
    LOST: { description: "No heartbeat within the queue's heartbeat window: killed, or cut off." },
    STOPPED: { description: "Shut down gracefully." },
  } as const,
});

type WorkerItem = WorkerRow & { state: WorkerState; runIds: number[] };

export const WorkerRef = builder.objectRef<WorkerItem>("Worker").implement({
  description: "A worker process; it registers itself when it starts.",
  fields: (t) => ({
    id: t.exposeString("id"),
    host: t.exposeString("host"),
    pid: t.exposeInt("pid"),
    adapter: t.exposeString("adapter", { description: "The WebGPU adapter it runs on." }),
    concurrency: t.exposeInt("concurrency", { description: "Runs it executes at once." }),
    limits: t.field({ type: "JSON", description: "Adapter limits (bytes).", resolve: (w) => w.limits }),
    version: t.exposeString("version"),
    state: t.field({ type: WorkerStateEnum, resolve: (w) => w.state }),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    heartbeatAt: t.expose("heartbeatAt", { type: "DateTime" }),
    stoppedAt: t.expose("stoppedAt", { type: "DateTime", nullable: true }),
    currentRuns: t.field({
      type: [RunRef],
      description: "Runs it is executing now.",
      resolve: async (w, _a, ctx) => await Promise.all(w.runIds.map((id) => ctx.loaders.run.load(id))),
    }),
  }),
});

builder.queryFields((t) => ({
  workers: t.field({
    type: [WorkerRef],
    description: "Every worker that registered, newest first.",
    resolve: (_r, _a, ctx) => ctx.service.listWorkers(ctx.service.workerStaleSeconds),
  }),
}));

/**
 * `Run.worker` for a page of runs: one listing of the workers per batch (a loader kept beside the
 * request's other loaders), not one per run.
 */
const workerLoaders = new WeakMap<Ctx["loaders"], BatchLoader<string, WorkerItem | null>>();

function workerLoader(ctx: Ctx): BatchLoader<string, WorkerItem | null> {
  let l = workerLoaders.get(ctx.loaders);
  if (!l) {
    l = new BatchLoader(async () => {
      const all = await ctx.service.listWorkers(ctx.service.workerStaleSeconds);
      return new Map(all.map((w) => [w.id, w]));
    }, () => null);
    workerLoaders.set(ctx.loaders, l);
  }
  return l;
}

builder.objectField(RunRef, "worker", (t) =>
  t.field({
    type: WorkerRef,
    nullable: true,
    description: "The worker running it, or that ran it last.",
    resolve: async (r, _a, ctx) => r.workerId ? await workerLoader(ctx).load(r.workerId) : null,
  }));

builder.objectField(RunRef, "attempts", (t) =>
  t.exposeInt("attempts", {
    description: "Times a worker started it; above 1 after a lost worker's run was resumed elsewhere.",
  }));
