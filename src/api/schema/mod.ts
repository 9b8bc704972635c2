/** The GraphQL schema: every type file registers itself on the builder; this builds and prints it. */
import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "../builder.ts";
import "./scalars.ts";
import "./node.ts";
import "./dataset.ts";
import "./dataset_samples.ts";
import "./epoch_metrics.ts";
import "./subset.ts";
import "./run.ts";
import "./run_events.ts";
import "./worker.ts";

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

export const schema = builder.toSchema();

/** The schema as checked in at schema/schema.graphql (sorted, so diffs stay readable). */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + "\n";
}
