/**
 * Run events, published in-process through yoga's pub/sub (one topic per run id) so that any number
 * of subscribers see the same sequence. Crossing processes (LISTEN/NOTIFY) is the next issue's job.
 */
import { createPubSub } from "graphql-yoga";
import type { EpochRow, RunStatus, SubsetRow } from "../db/schema.ts";

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
