/** Every kernel wrapper, and the list of kernels (for tests that check all of them). */
import type { KernelSpec } from "../pipelines.ts";
import type { ParamsLayout } from "../uniforms.ts";
import { MATMUL, MATMUL_PARAMS } from "./matmul.ts";

export * from "./matmul.ts";

/** Each kernel with the Params layout its wrapper packs (null when the shader takes no uniform). */
export const ALL_KERNELS: readonly { spec: KernelSpec; params: ParamsLayout | null }[] = [
  { spec: MATMUL, params: MATMUL_PARAMS },
];
