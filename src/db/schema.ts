/**
 * The database schema (drizzle, pg-core): datasets, runs, per-epoch metrics, subsets and their members.
 * The same tables serve PGlite and PostgreSQL; `deno task db:generate` writes the migration to
 * migrations/ after a change here.
 *
 * subset_members holds one row per selected sample. A page of a subset's samples is one index range
 * scan: by index on the primary key, by label on (subset_id, label, index), by weight on
 * (subset_id, weight desc, index), by label and weight on (subset_id, label, weight desc, index).
 */
import {
  bigint,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

export const datasetStatus = pgEnum("dataset_status", ["IMPORTING", "READY", "FAILED"]);
export const runKind = pgEnum("run_kind", ["TRAINING", "SELECTION"]);
export const runStatus = pgEnum("run_status", ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]);

export type DatasetStatus = (typeof datasetStatus.enumValues)[number];
export type RunKind = (typeof runKind.enumValues)[number];
export type RunStatus = (typeof runStatus.enumValues)[number];

/** A dataset's metadata; its data lives in the on-disk store under the same name. */
export const datasets = pgTable("datasets", {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  name: text().notNull(),
  source: text().notNull(),
  numTrain: integer().notNull().default(0),
  numTest: integer().notNull().default(0),
  numClasses: integer().notNull().default(0),
  /** Per-sample shape as stored, e.g. [1, 28, 28]. */
  inputShape: jsonb().$type<number[]>().notNull().default([]),
  /** Samples per class in the train split. */
  classCounts: jsonb().$type<number[]>().notNull().default([]),
  checksum: text(),
  status: datasetStatus().notNull().default("IMPORTING"),
  error: text(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex("datasets_name_key").on(t.name)]);

/** Seconds a run spent, filled in as it goes. */
export interface RunTimings {
  selectionSeconds: number;
  trainSeconds: number;
  /** Wall seconds from start to finish (or to now, while running). */
  wallSeconds: number;
}

/** bytea as Uint8Array on both drivers. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });

/**
 * A dataset's files (meta.json and the data files of the store), chunked, so that a worker on another
 * machine can fetch the dataset from the database and cache it by checksum. Written on PostgreSQL only
 * (an embedded PGlite database has no remote workers).
 */
export const datasetChunks = pgTable("dataset_chunks", {
  datasetId: integer().notNull().references(() => datasets.id, { onDelete: "cascade" }),
  file: text().notNull(),
  chunk: integer().notNull(),
  /** SHA-256 (hex) of `data`. */
  sha256: text().notNull(),
  data: bytea().notNull(),
}, (t) => [primaryKey({ columns: [t.datasetId, t.file, t.chunk] })]);

/** A worker process: registered at start, heartbeating while alive. */
export const workers = pgTable("workers", {
  id: text().primaryKey(),
  host: text().notNull(),
  pid: integer().notNull(),
  /** The WebGPU adapter, as `gradsift gpu-info` names it. */
  adapter: text().notNull(),
  /** Runs at once. */
  concurrency: integer().notNull(),
  /** A few adapter limits (e.g. maxBufferSize). */
  limits: jsonb().$type<Record<string, number>>().notNull().default({}),
  version: text().notNull(),
  startedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  heartbeatAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  /** Set by a graceful shutdown. */
  stoppedAt: timestamp({ withTimezone: true }),
});

export const runs = pgTable("runs", {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  kind: runKind().notNull(),
  status: runStatus().notNull().default("QUEUED"),
  datasetId: integer().notNull().references(() => datasets.id),
  strategy: text().notNull(),
  /** As given: a fraction, a percentage or a count ("0.1", "10%", "600"). */
  budget: text().notNull(),
  /** Model, schedule and strategy options (RunParams in src/runs/params.ts). */
  params: jsonb().$type<Record<string, unknown>>().notNull(),
  /** Fraction done, 0 … 1. */
  progress: doublePrecision().notNull().default(0),
  error: text(),
  timings: jsonb().$type<RunTimings>(),
  /** The worker running it (or that ran it last). */
  workerId: text().references(() => workers.id, { onDelete: "set null" }),
  /** How many times a worker has started it; a retry after a lost worker resumes from the checkpoint. */
  attempts: integer().notNull().default(0),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  startedAt: timestamp({ withTimezone: true }),
  finishedAt: timestamp({ withTimezone: true }),
}, (t) => [
  index("runs_status_idx").on(t.status, t.id),
  index("runs_dataset_idx").on(t.datasetId, t.id),
]);

/** The latest checkpoint of a training run (model, optimiser, position), written after every epoch. */
export const runCheckpoints = pgTable("run_checkpoints", {
  runId: integer().primaryKey().references(() => runs.id, { onDelete: "cascade" }),
  /** Epochs completed. */
  epoch: integer().notNull(),
  data: bytea().notNull(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/** Event payloads over NOTIFY's 8,000-byte limit go by reference to a row here. */
export const eventPayloads = pgTable("event_payloads", {
  id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  payload: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

export const epochMetrics = pgTable("epoch_metrics", {
  runId: integer().notNull().references(() => runs.id, { onDelete: "cascade" }),
  /** 1-based. */
  epoch: integer().notNull(),
  trainLoss: doublePrecision().notNull(),
  testLoss: doublePrecision(),
  testAccuracy: doublePrecision(),
  seconds: doublePrecision().notNull(),
  /** Cumulative seconds selecting and training up to this epoch. */
  selectionSeconds: doublePrecision().notNull(),
  trainSeconds: doublePrecision().notNull(),
  subsetSize: integer().notNull(),
}, (t) => [primaryKey({ columns: [t.runId, t.epoch] })]);

export const subsets = pgTable("subsets", {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  runId: integer().notNull().references(() => runs.id, { onDelete: "cascade" }),
  round: integer().notNull(),
  /** Epoch (1-based) whose training first uses it; 0 for a selection run. */
  epoch: integer().notNull(),
  size: integer().notNull(),
  /** Seconds spent selecting it. */
  seconds: doublePrecision().notNull(),
  classCounts: jsonb().$type<number[]>().notNull(),
}, (t) => [index("subsets_run_idx").on(t.runId, t.round)]);

export const subsetMembers = pgTable("subset_members", {
  subsetId: integer().notNull().references(() => subsets.id, { onDelete: "cascade" }),
  /** Row of the dataset's train split. */
  index: integer().notNull(),
  label: integer().notNull(),
  weight: real().notNull(),
}, (t) => [
  primaryKey({ columns: [t.subsetId, t.index] }),
  index("subset_members_label_idx").on(t.subsetId, t.label, t.index),
  index("subset_members_weight_idx").on(t.subsetId, t.weight.desc(), t.index),
  index("subset_members_label_weight_idx").on(t.subsetId, t.label, t.weight.desc(), t.index),
]);

export type DatasetRow = typeof datasets.$inferSelect;
export type RunRow = typeof runs.$inferSelect;
export type EpochRow = typeof epochMetrics.$inferSelect;
export type SubsetRow = typeof subsets.$inferSelect;
export type MemberRow = typeof subsetMembers.$inferSelect;
export type WorkerRow = typeof workers.$inferSelect;
