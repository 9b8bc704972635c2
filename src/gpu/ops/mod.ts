/** Every kernel wrapper, and the list of kernels (for tests that check all of them). */
import type { KernelSpec } from "../pipelines.ts";
import type { ParamsLayout } from "../uniforms.ts";
import { BIAS_ADD, BIAS_ADD_IN_PLACE, BIAS_ADD_PARAMS } from "./bias_add.ts";
import { COUNT_BELOW, COUNT_BELOW_PARAMS } from "./count_below.ts";
import { CROSS_ENTROPY, CROSS_ENTROPY_PARAMS } from "./cross_entropy.ts";
import { FACTOR_GRAM, FACTOR_GRAM_FUSED, FACTOR_GRAM_PARAMS } from "./factor_gram.ts";
import { GATHER_ROWS, GATHER_ROWS_PARAMS } from "./gather_rows.ts";
import { COL2IM, COL2IM_PARAMS, IM2COL, IM2COL_PARAMS } from "./im2col.ts";
import { MASKED_ARGMAX_FINISH, MASKED_ARGMAX_PARAMS, MASKED_ARGMAX_PARTIAL } from "./masked_argmax.ts";
import { MATMUL, MATMUL_BLOCKED, MATMUL_PARAMS } from "./matmul.ts";
import { MAXPOOL, MAXPOOL_BACKWARD, MAXPOOL_BACKWARD_PARAMS, MAXPOOL_PARAMS } from "./maxpool.ts";
import { METRICS, METRICS_PARAMS } from "./metrics.ts";
import {
  OMP_BATCH_ARGMAX,
  OMP_BATCH_ARGMAX_PARAMS,
  OMP_COLLECT,
  OMP_COLLECT_HIST,
  OMP_COLLECT_PARAMS,
  OMP_KERNELS,
  OMP_PARAMS,
  OMP_ROWDOT_F16_BATCH,
  OMP_ROWDOT_F16_BATCH_4,
  OMP_ROWDOT_F16_BATCH_PARAMS,
} from "./omp.ts";
import { PAIRWISE, PAIRWISE_PARAMS } from "./pairwise.ts";
import { PER_SAMPLE_GRAD, PER_SAMPLE_GRAD_PARAMS } from "./per_sample_grad.ts";
import { REDUCE_COLS, REDUCE_COLS_PARAMS } from "./reduce_cols.ts";
import { REDUCE_ROWS_PARAMS, ROW_MAX_ARGMAX, ROW_SQ_NORM, ROW_SUM } from "./reduce_rows.ts";
import { RELU, RELU_BACKWARD, RELU_PARAMS } from "./relu.ts";
import { SGD, SGD_PARAMS } from "./sgd.ts";
import { SOFTMAX, SOFTMAX_PARAMS } from "./softmax.ts";

/** Each kernel with the Params layout its wrapper packs (null when the shader takes no uniform). */
export const ALL_KERNELS: readonly { spec: KernelSpec; params: ParamsLayout | null }[] = [
  { spec: MATMUL, params: MATMUL_PARAMS },
  { spec: MATMUL_BLOCKED, params: MATMUL_PARAMS },
  { spec: BIAS_ADD, params: BIAS_ADD_PARAMS },
  { spec: BIAS_ADD_IN_PLACE, params: BIAS_ADD_PARAMS },
  { spec: RELU, params: RELU_PARAMS },
  { spec: RELU_BACKWARD, params: RELU_PARAMS },
  { spec: SOFTMAX, params: SOFTMAX_PARAMS },
  { spec: CROSS_ENTROPY, params: CROSS_ENTROPY_PARAMS },
  { spec: ROW_SUM, params: REDUCE_ROWS_PARAMS },
  { spec: ROW_SQ_NORM, params: REDUCE_ROWS_PARAMS },
  { spec: ROW_MAX_ARGMAX, params: REDUCE_ROWS_PARAMS },
  { spec: REDUCE_COLS, params: REDUCE_COLS_PARAMS },
  { spec: MASKED_ARGMAX_PARTIAL, params: MASKED_ARGMAX_PARAMS },
  { spec: MASKED_ARGMAX_FINISH, params: MASKED_ARGMAX_PARAMS },
  { spec: PER_SAMPLE_GRAD, params: PER_SAMPLE_GRAD_PARAMS },
  { spec: FACTOR_GRAM, params: FACTOR_GRAM_PARAMS },
  { spec: FACTOR_GRAM_FUSED, params: FACTOR_GRAM_PARAMS },
  { spec: PAIRWISE, params: PAIRWISE_PARAMS },
  { spec: COUNT_BELOW, params: COUNT_BELOW_PARAMS },
  { spec: GATHER_ROWS, params: GATHER_ROWS_PARAMS },
  { spec: IM2COL, params: IM2COL_PARAMS },
  { spec: COL2IM, params: COL2IM_PARAMS },
  { spec: MAXPOOL, params: MAXPOOL_PARAMS },
  { spec: MAXPOOL_BACKWARD, params: MAXPOOL_BACKWARD_PARAMS },
  { spec: SGD, params: SGD_PARAMS },
  { spec: METRICS, params: METRICS_PARAMS },
  ...OMP_KERNELS.map((spec) => ({ spec, params: OMP_PARAMS })),
  { spec: OMP_COLLECT_HIST, params: OMP_COLLECT_PARAMS },
  { spec: OMP_COLLECT, params: OMP_COLLECT_PARAMS },
  { spec: OMP_ROWDOT_F16_BATCH, params: OMP_ROWDOT_F16_BATCH_PARAMS },
  { spec: OMP_ROWDOT_F16_BATCH_4, params: OMP_ROWDOT_F16_BATCH_PARAMS },
  { spec: OMP_BATCH_ARGMAX, params: OMP_BATCH_ARGMAX_PARAMS },
];
