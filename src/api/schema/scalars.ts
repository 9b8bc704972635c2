/** Scalars: DateTime (ISO 8601 strings) and JSON (any JSON value). */
import { GraphQLError } from "graphql";
import { builder } from "../builder.ts";

builder.scalarType("DateTime", {
  description: "An ISO 8601 date and time in UTC, e.g. 2026-11-24T10:00:00.000Z.",
  serialize: (d) => d.toISOString(),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (typeof v !== "string" || Number.isNaN(d.getTime())) {
      throw new GraphQLError(`"${v}" is not an ISO 8601 date`, { extensions: { code: "BAD_USER_INPUT" } });
    }
    return d;
  },
});

builder.scalarType("JSON", {
  description: "Any JSON value.",
  serialize: (v) => v,
  parseValue: (v) => v,
});
