/**
 * The data layer: IDX and .npy readers, generated data, Fashion-MNIST, and the on-disk dataset store.
 * It sits beside the GPU stack (nothing here touches the GPU) and is used by `runs/`, `api/` and the CLI.
 */
export * from "./errors.ts";
export * from "./idx.ts";
export * from "./npy.ts";
export * from "./generate.ts";
export * from "./fashion_mnist.ts";
export * from "./store.ts";
export {
  checkDatasetName,
  DATASET_NAME,
  MAX_CLASSES,
  type SplitCounts,
  validateDataset,
  validateSplit,
} from "./validate.ts";
