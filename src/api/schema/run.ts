/** Run: type, `run(id)`, `runs(filter)`, and the mutations that start, cancel and delete runs. */
import type { RunRow } from "../../db/schema.ts";
import type { RunParams } from "../../runs/params.ts";
import type { RunFilter } from "../../runs/service.ts";
import { builder, type Ctx } from "../builder.ts";
import { decodeCursor, encodeCursor, parseIdOf, toGlobalId } from "../ids.ts";
import { connectionType, pageSize, toConnection } from "./connection.ts";
import { DatasetRef } from "./dataset.ts";
import { EpochMetricsRef } from "./epoch_metrics.ts";
import { NodeRef } from "./node.ts";
import { SubsetRef } from "./subset.ts";

export const RunKindEnum = builder.enumType("RunKind", { values: ["TRAINING", "SELECTION"] as const });
export const RunStatusEnum = builder.enumType("RunStatus", {
  values: ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] as const,
});
export const ModelKindEnum = builder.enumType("ModelKind", { values: ["MLP", "CNN"] as const });

const RunTimingsRef = builder.objectRef<
  { selectionSeconds: number; trainSeconds: number; wallSeconds: number }
>(
  "RunTimings",
).implement({
  fields: (t) => ({
    selectionSeconds: t.exposeFloat("selectionSeconds"),
    trainSeconds: t.exposeFloat("trainSeconds"),
    wallSeconds: t.exposeFloat("wallSeconds", { description: "From start to finish." }),
  }),
});

export const RunRef = builder.objectRef<RunRow>("Run").implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.id({ resolve: (r) => toGlobalId("Run", r.id) }),
    kind: t.field({ type: RunKindEnum, resolve: (r) => r.kind }),
    status: t.field({ type: RunStatusEnum, resolve: (r) => r.status }),
    strategy: t.exposeString("strategy"),
    budget: t.exposeString("budget", { description: "As given: a fraction, a percentage or a count." }),
    model: t.field({
      type: ModelKindEnum,
      resolve: (r) => (r.params as unknown as RunParams).model === "cnn" ? "CNN" : "MLP",
    }),
    params: t.field({
      type: "JSON",
      description: "Model, schedule and strategy options.",
      resolve: (r) => r.params,
    }),
    progress: t.exposeFloat("progress", { description: "0 … 1." }),
    error: t.exposeString("error", { nullable: true }),
    timings: t.field({ type: RunTimingsRef, nullable: true, resolve: (r) => r.timings }),
    dataset: t.field({ type: DatasetRef, resolve: (r, _a, ctx) => ctx.loaders.dataset.load(r.datasetId) }),
    epochs: t.field({ type: [EpochMetricsRef], resolve: (r, _a, ctx) => ctx.loaders.epochsOf.load(r.id) }),
    subsets: t.field({ type: [SubsetRef], resolve: (r, _a, ctx) => ctx.loaders.subsetsOf.load(r.id) }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.objectField(SubsetRef, "run", (t) =>
  t.field({
    type: RunRef,
    description: "The run that selected it.",
    resolve: (s, _a, ctx) => ctx.loaders.run.load(s.runId),
  }));

const RunConnection = connectionType("Run", RunRef, { totalCount: true });

const RunFilterInput = builder.inputType("RunFilter", {
  fields: (t) => ({
    status: t.field({ type: [RunStatusEnum], description: "Any of these statuses." }),
    kind: t.field({ type: RunKindEnum }),
    datasetId: t.id(),
  }),
});

const isIdKey = (v: unknown): v is { id: number } =>
  typeof v === "object" && v !== null && Number.isInteger((v as { id: unknown }).id);

builder.queryFields((t) => ({
  run: t.field({
    type: RunRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.loaders.run.load(parseIdOf("Run", String(id))),
  }),
  runs: t.field({
    type: RunConnection,
    description: "Runs, newest first.",
    args: { filter: t.arg({ type: RunFilterInput }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx) => {
      const first = pageSize(args.first);
      const after = args.after ? decodeCursor(args.after, isIdKey).id : null;
      const filter: RunFilter = {
        status: args.filter?.status ?? null,
        kind: args.filter?.kind ?? null,
        datasetId: args.filter?.datasetId ? parseIdOf("Dataset", String(args.filter.datasetId)) : null,
      };
      const page = await ctx.service.listRuns(filter, first, after);
      return toConnection(
        page,
        (r) => encodeCursor({ id: r.id }),
        after !== null,
        () => ctx.service.countRuns(filter),
      );
    },
  }),
}));

const RunOptionsFields = builder.inputType("RunOptions", {
  description: "Model and schedule; every field has a default (as `gradsift train`).",
  fields: (t) => ({
    model: t.field({ type: ModelKindEnum, description: "[MLP]" }),
    hidden: t.intList({ description: "MLP hidden widths [256]." }),
    epochs: t.int({ description: "[10]" }),
    batchSize: t.int({ description: "[128]" }),
    lr: t.float({ description: "[0.05]" }),
    momentum: t.float({ description: "[0.9]" }),
    weightDecay: t.float({ description: "[5e-4]" }),
    seed: t.int({ description: "[0]" }),
    selectEvery: t.int({ description: "Re-select every R epochs [5]." }),
    warmEpochs: t.int({ description: "Full-data epochs before the first selection [0]." }),
    limit: t.int({ description: "Use only the first N training samples." }),
    lambda: t.float({ description: "GRAD-MATCH ridge λ [0.5]." }),
    mode: t.string({ description: "GRAD-MATCH: per-class | per-batch | whole [per-class]." }),
    nfgWarmEpochs: t.int({ description: "NFG: warm-up epochs of its ranking model [10]." }),
  }),
});

const StartRunInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      datasetId: t.id({ required: true }),
      strategy: t.string({ required: true, description: "full | random | gradmatch | craig | crest | nfg" }),
      budget: t.string({
        description: 'Subset size: a fraction ("0.1"), a percentage ("10%") or a count ("600").',
      }),
      options: t.field({ type: RunOptionsFields }),
    }),
  });

const StartTrainingInput = StartRunInput("StartTrainingInput", "A training run with data selection.");
const StartSelectionInput = StartRunInput(
  "StartSelectionInput",
  "One selection, no training: features from a fresh model trained `warmEpochs` epochs (default 0).",
);

const RunPayload = (name: string) =>
  builder.objectRef<{ run: RunRow }>(name).implement({
    fields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }),
  });
const StartRunPayload = RunPayload("StartRunPayload");
const CancelRunPayload = RunPayload("CancelRunPayload");
const DeleteRunPayload = builder.objectRef<{ id: string }>("DeleteRunPayload").implement({
  fields: (t) => ({ deletedId: t.id({ resolve: (p) => p.id }) }),
});

type StartInput = {
  datasetId: string | number;
  strategy: string;
  budget?: string | null;
  options?: Record<string, unknown> | null;
};

function params(options: StartInput["options"]): Partial<RunParams> {
  const o = { ...(options ?? {}) } as Record<string, unknown>;
  if (o.model) o.model = String(o.model).toLowerCase();
  return o as Partial<RunParams>;
}

/** Both start mutations: the input's dataset id decoded, its options turned into run parameters. */
function startRun(
  ctx: Ctx,
  kind: "TRAINING" | "SELECTION",
  input: { datasetId: string | number; strategy: string; budget?: string | null; options?: unknown },
): Promise<RunRow> {
  return ctx.service.createRun({
    kind,
    datasetId: parseIdOf("Dataset", String(input.datasetId)),
    strategy: input.strategy,
    budget: input.budget,
    params: params(input.options as StartInput["options"]),
  });
}

builder.mutationFields((t) => ({
  startTraining: t.field({
    type: StartRunPayload,
    args: { input: t.arg({ type: StartTrainingInput, required: true }) },
    resolve: async (_r, { input }, ctx) => ({ run: await startRun(ctx, "TRAINING", input) }),
  }),
  startSelection: t.field({
    type: StartRunPayload,
    args: { input: t.arg({ type: StartSelectionInput, required: true }) },
    resolve: async (_r, { input }, ctx) => ({ run: await startRun(ctx, "SELECTION", input) }),
  }),
  cancelRun: t.field({
    type: CancelRunPayload,
    description: "Cancels a queued or running run; returns it once it has stopped.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => ({ run: await ctx.service.cancelRun(parseIdOf("Run", String(id))) }),
  }),
  deleteRun: t.field({
    type: DeleteRunPayload,
    description: "Deletes a finished run with its epochs and subsets.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      await ctx.service.deleteRun(parseIdOf("Run", String(id)));
      return { id: String(id) };
    },
  }),
}));
