/** Learning-rate schedules, as functions of progress through training (per step). */
import { InvalidInputError } from "../errors.ts";

/** Which schedule, with its settings. */
export type Schedule =
  | { kind: "constant" }
  /** Cosine annealing from the base rate to `minLr` over all steps (per batch, as in SGDR/PyTorch). */
  | { kind: "cosine"; minLr?: number }
  /** Multiply by `gamma` every `everyEpochs` epochs. */
  | { kind: "step"; everyEpochs: number; gamma: number };

/** Learning rate at `step` of `totalSteps`, with `stepsPerEpoch` steps an epoch. */
export function learningRate(
  base: number,
  schedule: Schedule,
  step: number,
  totalSteps: number,
  stepsPerEpoch: number,
): number {
  switch (schedule.kind) {
    case "constant":
      return base;
    case "cosine": {
      const min = schedule.minLr ?? 0;
      const t = totalSteps <= 1 ? 0 : Math.min(1, step / totalSteps);
      return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * t));
    }
    case "step": {
      if (!(schedule.everyEpochs > 0)) throw new InvalidInputError("step schedule: everyEpochs must be > 0");
      const epoch = Math.floor(step / Math.max(1, stepsPerEpoch));
      return base * schedule.gamma ** Math.floor(epoch / schedule.everyEpochs);
    }
  }
}

/** Parses "cosine", "constant" or "step:EVERY:GAMMA" (e.g. "step:5:0.1"). */
export function parseSchedule(text: string): Schedule {
  if (text === "cosine") return { kind: "cosine" };
  if (text === "constant") return { kind: "constant" };
  const m = /^step:(\d+):([0-9.eE-]+)$/.exec(text);
  if (m) return { kind: "step", everyEpochs: Number(m[1]), gamma: Number(m[2]) };
  throw new InvalidInputError(`unknown schedule "${text}": use cosine, constant or step:EVERY:GAMMA`);
}
