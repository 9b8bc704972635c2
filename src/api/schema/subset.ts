/** Subset: a selected weighted subset and its cursor-paginated members. */
import type { MemberRow, SubsetRow } from "../../db/schema.ts";
import type { MemberKey } from "../../runs/service.ts";
import { builder } from "../builder.ts";
import { decodeCursor, encodeCursor, toGlobalId } from "../ids.ts";
import { connectionType, pageSize, toConnection } from "./connection.ts";
import { NodeRef } from "./node.ts";

export const SubsetSampleOrder = builder.enumType("SubsetSampleOrder", {
  values: {
    INDEX: { description: "By sample index, ascending." },
    WEIGHT_DESC: { description: "Heaviest first; ties by index." },
  } as const,
});

export const SubsetSampleRef = builder.objectRef<MemberRow>("SubsetSample").implement({
  description: "A selected sample: its row in the dataset's training split, its class and its weight.",
  fields: (t) => ({
    index: t.exposeInt("index"),
    label: t.exposeInt("label"),
    weight: t.exposeFloat("weight"),
  }),
});

const SubsetSampleConnection = connectionType("SubsetSample", SubsetSampleRef);

const isMemberKey = (v: unknown): v is MemberKey =>
  typeof v === "object" && v !== null && Number.isInteger((v as MemberKey).index) &&
  ((v as MemberKey).weight === undefined || typeof (v as MemberKey).weight === "number");

export const SubsetRef = builder.objectRef<SubsetRow>("Subset").implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.id({ resolve: (s) => toGlobalId("Subset", s.id) }),
    round: t.exposeInt("round", { description: "Selection round, from 0." }),
    epoch: t.exposeInt("epoch", {
      description: "Epoch (1-based) whose training first uses it; 0 for a selection run.",
    }),
    size: t.exposeInt("size"),
    seconds: t.exposeFloat("seconds", { description: "Seconds spent selecting it." }),
    classCounts: t.exposeIntList("classCounts", { description: "Selected samples per class." }),
    samples: t.field({
      type: SubsetSampleConnection,
      args: {
        first: t.arg.int(),
        after: t.arg.string(),
        label: t.arg.int({ description: "Only samples of this class." }),
        orderBy: t.arg({ type: SubsetSampleOrder, defaultValue: "INDEX" }),
      },
      resolve: async (s, args, ctx) => {
        const first = pageSize(args.first);
        const orderBy = args.orderBy ?? "INDEX";
        const after = args.after ? decodeCursor(args.after, isMemberKey) : null;
        const page = await ctx.service.members(s.id, { first, after, label: args.label ?? null, orderBy });
        const cursor = (m: MemberRow) =>
          encodeCursor(orderBy === "INDEX" ? { index: m.index } : { index: m.index, weight: m.weight });
        return toConnection(page, cursor, after !== null);
      },
    }),
  }),
});
