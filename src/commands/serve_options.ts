/** Options `gradsift serve` and `gradsift worker` share: the run queue's failure settings, signals. */
import { InvalidInputError } from "../errors.ts";
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings } from "../runs/queue.ts";

export const QUEUE_OPTIONS = {
  heartbeat: { type: "string", default: String(DEFAULT_QUEUE_SETTINGS.heartbeatSeconds) },
  retries: { type: "string", default: String(DEFAULT_QUEUE_SETTINGS.retryLimit) },
  supervise: { type: "string", default: String(DEFAULT_QUEUE_SETTINGS.superviseSeconds) },
  "no-notify": { type: "boolean", default: false },
} as const;

export function queueSettingsFromArgs(
  v: { heartbeat?: string; retries?: string; supervise?: string; "no-notify"?: boolean },
): QueueSettings {
  const heartbeatSeconds = Number(v.heartbeat);
  if (!Number.isInteger(heartbeatSeconds) || heartbeatSeconds < 10) {
    throw new InvalidInputError(
      `--heartbeat must be a whole number of seconds ≥ 10 (pg-boss's minimum), got "${v.heartbeat}"`,
    );
  }
  const retryLimit = Number(v.retries);
  if (!Number.isInteger(retryLimit) || retryLimit < 0) {
    throw new InvalidInputError(`--retries must be an integer ≥ 0, got "${v.retries}"`);
  }
  const superviseSeconds = Number(v.supervise);
  if (!Number.isInteger(superviseSeconds) || superviseSeconds < 1) {
    throw new InvalidInputError(`--supervise must be a whole number of seconds ≥ 1, got "${v.supervise}"`);
  }
  return { heartbeatSeconds, retryLimit, superviseSeconds, notify: !v["no-notify"] };
}

/** Resolves with the name of the first SIGINT or SIGTERM. */
export function waitForSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve(sig));
  });
}
