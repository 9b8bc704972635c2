/**
 * The strategies by name. One-shot strategies (`Strategy.select` on extracted features) are built by
 * `createStrategy`; CREST and NFG also drive training (`CrestTrainer`, `nfgSelect`) and are run by the
 * training driver (src/selection/driver.ts).
 */
import { InvalidInputError } from "../errors.ts";
import { CraigStrategy } from "./craig.ts";
import { type GradMatchMode, GradMatchStrategy } from "./grad_match.ts";
import { NfgStrategy } from "./nfg.ts";
import { FullStrategy, RandomStrategy } from "./random.ts";
import type { Strategy } from "./types.ts";

export const STRATEGY_NAMES = ["full", "random", "gradmatch", "craig", "crest", "nfg"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Options that some strategies take. */
export interface StrategyOptions {
  lambda?: number;
  mode?: GradMatchMode;
  /** NFG's neighbour radius. */
  radius?: number;
}

/** Validates a strategy name. */
export function parseStrategy(name: string): StrategyName {
  if ((STRATEGY_NAMES as readonly string[]).includes(name)) return name as StrategyName;
  throw new InvalidInputError(`unknown strategy "${name}": use one of ${STRATEGY_NAMES.join(", ")}`);
}

/** A one-shot strategy over extracted features (CREST has none: it only exists inside training). */
export function createStrategy(name: StrategyName, opts: StrategyOptions = {}): Strategy {
  switch (name) {
    case "full":
      return new FullStrategy();
    case "random":
      return new RandomStrategy();
    case "gradmatch":
      return new GradMatchStrategy({ mode: opts.mode ?? "per-class", lambda: opts.lambda });
    case "craig":
      return new CraigStrategy();
    case "nfg":
      return new NfgStrategy(opts.radius !== undefined ? { radius: opts.radius } : {});
    case "crest":
      throw new InvalidInputError("crest selects inside training (mini-batch coresets); use it with train");
  }
}

export type { SelectionContext, Strategy, Subset } from "./types.ts";
