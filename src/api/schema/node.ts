/** The Relay `Node` interface, and `node(id)`. */
import { builder } from "../builder.ts";
import { NotFoundError } from "../../runs/service.ts";
import { type NodeType, parseGlobalId } from "../ids.ts";

/** Rows resolved through `node` carry their type here, for `resolveType`. */
export const NODE_TYPE = Symbol("nodeType");
export type Tagged = { [NODE_TYPE]?: NodeType };

export const NodeRef = builder.interfaceRef<object>("Node").implement({
  description: "An object with a global id (Relay).",
  resolveType: (v) => (v as Tagged)[NODE_TYPE] ?? null,
  fields: (t) => ({ id: t.id({ resolve: () => "" }) }),
});

builder.queryField("node", (t) =>
  t.field({
    type: NodeRef,
    nullable: true,
    description: "Any object by its global id; null when no such object exists.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const g = parseGlobalId(String(id));
      const l = ctx.loaders;
      const loader = g.type === "Run" ? l.run : g.type === "Dataset" ? l.dataset : l.subset;
      const row = await (loader.load(g.id) as Promise<object>).catch((e) => {
        if (e instanceof NotFoundError) return null;
        throw e;
      });
      return row ? Object.assign(row, { [NODE_TYPE]: g.type }) : null;
    },
  }));
