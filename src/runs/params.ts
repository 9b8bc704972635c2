/**
 * A run's parameters as stored in `runs.params` and validated when the run is created, so a bad
 * request fails with BAD_USER_INPUT before anything is queued.
 */
import { InvalidInputError } from "../errors.ts";
import { resolveBudget } from "../selection/budget.ts";
import { parseStrategy, type StrategyName } from "../selection/mod.ts";
import type { GradMatchMode } from "../selection/grad_match.ts";
import type { RunKind } from "../db/schema.ts";

/** Everything a run needs besides its dataset, strategy and budget. Defaults as `gradsift train`. */
export interface RunParams {
  model: "mlp" | "cnn";
  /** MLP hidden widths [256]. */
  hidden?: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Re-select every R epochs (training runs). */
  selectEvery: number;
  /** Full-data epochs before the first selection (training) or before selecting (selection runs). */
  warmEpochs: number;
  /** Use only the first N training samples (quick trials). */
  limit?: number;
  lambda?: number;
  mode?: GradMatchMode;
  /** NFG: warm-up epochs of its ranking model. */
  nfgWarmEpochs?: number;
}

export const DEFAULT_PARAMS: RunParams = {
  model: "mlp",
  epochs: 10,
  batchSize: 128,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 0,
  selectEvery: 5,
  warmEpochs: 0,
};

/** What a client asks for. */
export interface RunRequest {
  kind: RunKind;
  datasetId: number;
  strategy: string;
  budget?: string | null;
  params?: Partial<RunParams>;
}

const GRADMATCH_MODES = ["per-class", "per-batch", "whole"];

/** Validates a request against the dataset's training size; returns the normalised pieces. */
export function validateRequest(
  req: RunRequest,
  numTrain: number,
): { strategy: StrategyName; budget: string; params: RunParams } {
  const strategy = parseStrategy(req.strategy);
  const p: RunParams = { ...DEFAULT_PARAMS };
  for (const [k, v] of Object.entries(req.params ?? {})) {
    if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[k] = v;
  }
  const int = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new InvalidInputError(`${name} must be an integer ≥ ${min}, got ${v}`);
    }
  };
  const num = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new InvalidInputError(`${name} must be a number ≥ 0, got ${v}`);
    }
  };
  if (p.model !== "mlp" && p.model !== "cnn") throw new InvalidInputError(`model must be mlp or cnn`);
  int("epochs", p.epochs, 1);
  int("batchSize", p.batchSize, 1);
  int("seed", p.seed, 0);
  int("selectEvery", p.selectEvery, 1);
  int("warmEpochs", p.warmEpochs, 0);
  int("limit", p.limit, 1);
  int("nfgWarmEpochs", p.nfgWarmEpochs, 1);
  num("lr", p.lr);
  num("momentum", p.momentum);
  num("weightDecay", p.weightDecay);
  num("lambda", p.lambda);
  if (p.hidden) { for (const h of p.hidden) int("hidden", h, 1); }
  if (p.mode !== undefined && !GRADMATCH_MODES.includes(p.mode)) {
    throw new InvalidInputError(`mode must be one of ${GRADMATCH_MODES.join(", ")}, got "${p.mode}"`);
  }
  const n = Math.min(numTrain, p.limit ?? numTrain);
  const budget = (req.budget ?? "").trim() || (strategy === "full" ? String(n) : "");
  if (!budget) {
    throw new InvalidInputError(`strategy ${strategy} needs a budget (a fraction, "10%" or a count)`);
  }
  resolveBudget(budget, n);
  if (req.kind === "SELECTION" && strategy === "crest") {
    throw new InvalidInputError("crest selects mini-batch coresets inside training: start a training run");
  }
  return { strategy, budget, params: p };
}
