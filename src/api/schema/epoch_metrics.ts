/** EpochMetrics: what one epoch of a training run reports. */
import type { EpochRow } from "../../db/schema.ts";
import { builder } from "../builder.ts";

export const EpochMetricsRef = builder.objectRef<EpochRow>("EpochMetrics").implement({
  fields: (t) => ({
    epoch: t.exposeInt("epoch", { description: "1-based." }),
    trainLoss: t.exposeFloat("trainLoss", { description: "Weighted mean loss over the epoch's batches." }),
    testLoss: t.exposeFloat("testLoss", { nullable: true }),
    testAccuracy: t.exposeFloat("testAccuracy", { nullable: true, description: "0 … 1." }),
    seconds: t.exposeFloat("seconds", { description: "Training seconds of this epoch." }),
    selectionSeconds: t.exposeFloat("selectionSeconds", { description: "Cumulative, up to this epoch." }),
    trainSeconds: t.exposeFloat("trainSeconds", { description: "Cumulative, up to this epoch." }),
    subsetSize: t.exposeInt("subsetSize", { description: "Samples trained on this epoch." }),
  }),
});
