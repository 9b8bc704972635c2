/** Dataset: type, `dataset(id)`, `datasets` connection, `importDataset`. */
import type { DatasetRow } from "../../db/schema.ts";
import { importBuiltinDataset } from "../../runs/datasets.ts";
import { builder } from "../builder.ts";
import { decodeCursor, encodeCursor, parseIdOf, toGlobalId } from "../ids.ts";
import { connectionType, pageSize, toConnection } from "./connection.ts";
import { NodeRef } from "./node.ts";

export const DatasetStatusEnum = builder.enumType("DatasetStatus", {
  values: ["IMPORTING", "READY", "FAILED"] as const,
});

export const DatasetRef = builder.objectRef<DatasetRow>("Dataset").implement({
  description: "A dataset in the store: its shape and class balance (the data itself stays on disk).",
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.id({ resolve: (d) => toGlobalId("Dataset", d.id) }),
    name: t.exposeString("name"),
    source: t.exposeString("source"),
    status: t.field({ type: DatasetStatusEnum, resolve: (d) => d.status }),
    error: t.exposeString("error", { nullable: true, description: "Why the import failed." }),
    numTrain: t.exposeInt("numTrain"),
    numTest: t.exposeInt("numTest"),
    numClasses: t.exposeInt("numClasses"),
    inputShape: t.exposeIntList("inputShape"),
    classCounts: t.exposeIntList("classCounts", { description: "Training samples per class." }),
    checksum: t.exposeString("checksum", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const DatasetConnection = connectionType("Dataset", DatasetRef, { totalCount: true });
const isIdKey = (v: unknown): v is { id: number } =>
  typeof v === "object" && v !== null && Number.isInteger((v as { id: unknown }).id);

builder.queryFields((t) => ({
  dataset: t.field({
    type: DatasetRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.service.dataset(parseIdOf("Dataset", String(id))),
  }),
  datasets: t.field({
    type: DatasetConnection,
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx) => {
      const first = pageSize(args.first);
      const after = args.after ? decodeCursor(args.after, isIdKey).id : null;
      const page = await ctx.service.listDatasets(first, after);
      return toConnection(
        page,
        (d) => encodeCursor({ id: d.id }),
        after !== null,
        () => ctx.service.countDatasets(),
      );
    },
  }),
}));

const ImportDatasetInput = builder.inputType("ImportDatasetInput", {
  fields: (t) => ({
    name: t.string({
      required: true,
      description: "A built-in: fashion-mnist, or blobs-N-D-C-SEED (N samples, D features, C classes).",
    }),
  }),
});

const ImportDatasetPayload = builder.objectRef<{ dataset: DatasetRow }>("ImportDatasetPayload").implement({
  fields: (t) => ({
    dataset: t.field({
      type: DatasetRef,
      description: "IMPORTING until the data is in the store; watch `status`.",
      resolve: (p) => p.dataset,
    }),
  }),
});

builder.mutationField("importDataset", (t) =>
  t.field({
    type: ImportDatasetPayload,
    args: { input: t.arg({ type: ImportDatasetInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const h = await importBuiltinDataset(ctx.service, ctx.store, input.name, ctx.log);
      return { dataset: h.dataset };
    },
  }));
