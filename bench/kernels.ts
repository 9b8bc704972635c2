/**
 * Kernel benchmarks: every kernel family at three sizes, its GPU time and throughput beside the same
 * computation as a plain TypeScript loop over Float32Array (bench/ts_kernels.ts), timed in the same run,
 * then the project's performance targets with PASS/FAIL. The provenance line (machine, adapter) comes
 * first. `deno task bench kernels [--quick] [--only WORD,…] [--json=FILE]`, or `deno run -A bench/kernels.ts [--quick]
 * [--json FILE]`.
 *
 * How the GPU is timed. In Deno every wait for the GPU (onSubmittedWorkDone, mapAsync) costs ~11 ms of
 * latency whatever the work, more than most of these kernels take. So each sample records the kernel R
 * times into one step, submits once, waits once, and the wall time is divided by R, subtracting nothing:
 * the latency and the CPU cost of recording R dispatches stay in the figure, spread over R runs. R
 * starts at 1 and grows until a sample takes ≥ MIN_SAMPLE_MS (100 ms, so the latency is ≤ ~10% of it);
 * the time is the median of SAMPLES samples at that R (column "R"). A first (warm-up) run of ≥ LONG_MS
 * is the measurement itself: for those, compiling pipelines is a small part and has mostly happened
 * already (the smaller sizes of the same kernel run first). The TS twins are timed the same way, so the
 * big ones (matmul 1024³, pairwise 4096², factor_gram 6000²) run once.
 *
 * Throughput: GFLOP/s for the arithmetic-bound kernels (matmul, pairwise, factor_gram: a multiply-add
 * is 2 FLOPs, a subtract-square-add 3), GB/s for the rest, counting the bytes of every input read once
 * and every output written once (gathers that read an input several times still count it once).
 *
 * `--quick` uses smaller sizes and shorter samples (MIN 30 ms, one sample): a smoke run, not numbers to
 * quote. The case list (`caseSpecs`) is shared with test/bench/kernels_bench_test.ts, which runs each
 * case once at a tiny size and checks that the GPU result equals its TS twin's.
 */
import { acquireGpu, type Gpu } from "../src/gpu/device.ts";
import { run, type Step } from "../src/gpu/step.ts";
import { type DType, empty, type Tensor, tensor } from "../src/gpu/tensor.ts";
import { encodeBiasAdd } from "../src/gpu/ops/bias_add.ts";
import { encodeCountBelow } from "../src/gpu/ops/count_below.ts";
import { encodeCrossEntropy } from "../src/gpu/ops/cross_entropy.ts";
import { encodeFactorGram, type FactorGramVariant } from "../src/gpu/ops/factor_gram.ts";
import { encodeGatherRows } from "../src/gpu/ops/gather_rows.ts";
import { encodeCol2im, encodeIm2col } from "../src/gpu/ops/im2col.ts";
import { encodeMaskedArgmax } from "../src/gpu/ops/masked_argmax.ts";
import { encodeMatmul, type MatmulOptions } from "../src/gpu/ops/matmul.ts";
import { encodeMaxpool, encodeMaxpoolBackward } from "../src/gpu/ops/maxpool.ts";
import { encodePairwise } from "../src/gpu/ops/pairwise.ts";
import { encodePerSampleGrad } from "../src/gpu/ops/per_sample_grad.ts";
import { encodeColSum } from "../src/gpu/ops/reduce_cols.ts";
import { encodeRowMaxArgmax, encodeRowSum, encodeSqNorms } from "../src/gpu/ops/reduce_rows.ts";
import { encodeRelu, encodeReluBackward } from "../src/gpu/ops/relu.ts";
import { encodeSgd } from "../src/gpu/ops/sgd.ts";
import { encodeSoftmax } from "../src/gpu/ops/softmax.ts";
import { Rng } from "../src/util/rng.ts";
import * as ts from "./ts_kernels.ts";
import {
  argValue,
  provenance,
  type RepeatedTime,
  type RepeatOptions,
  table,
  timeGpuRepeated,
  timeSyncRepeated,
} from "./util.ts";

// ---- Configuration ---------------------------------------------------------------------------------

/** Full runs: samples ≥ 100 ms (the ~11 ms wait ≤ ~10% of one), median of 3, runs ≥ 2 s timed once. */
const FULL_TIMING: RepeatOptions = { minSampleMs: 100, samples: 3, longMs: 2000, maxRepeats: 4096 };
/** `--quick`: a smoke run of the whole table in under a minute; its numbers carry more latency. */
const QUICK_TIMING: RepeatOptions = { minSampleMs: 30, samples: 1, longMs: 500, maxRepeats: 1024 };

/** Inputs are normals from this seed (cases are independent: each setup starts a new generator). */
const SEED = 42;

/** `tiny`: one size per family for the smoke test; `quick`: three small sizes; `full`: the benchmark. */
export type Tier = "tiny" | "quick" | "full";

type Sizes<T> = Record<Tier, readonly T[]>;

/** Stride-1 convolution geometry of the CNN's second layer (14×14×32, k = 3, pad = 1) at batch b. */
function conv2(b: number): ts.ConvDims {
  return { b, h: 14, w: 14, cin: 32, k: 3, pad: 1 };
}

/** The CNN's first pooling input (28×28×32) at batch b. */
function pool1(b: number): ts.PoolDims {
  return { b, h: 28, w: 28, c: 32 };
}

/** Sizes per family and tier. The last `full` size of matmul, pairwise and grads is a target's. */
export const SIZES = {
  /** matmul A·B, m = k = n. Target 1: 1024³. */
  matmul: { tiny: [33], quick: [128, 256, 512], full: [256, 512, 1024] },
  /** matmul Aᵀ·B and A·Bᵀ, m = k = n: one size each. */
  matmulTransposed: { tiny: [31], quick: [256], full: [512] },
  /** pairwise squared distances between two sets of n rows of d. Target 2: n = 4096, d = 256. */
  pairwise: {
    tiny: [[37, 19]],
    quick: [[256, 256], [512, 256], [1024, 256]],
    full: [[1024, 256], [2048, 256], [4096, 256]],
  },
  /** pairwise dot and exp: one size each. */
  pairwiseOther: { tiny: [[29, 19]], quick: [[512, 256]], full: [[2048, 256]] },
  /** per_sample_grad and factor_gram: (n, C, D). Target 3: (6000, 10, 256), also materialised. */
  grads: {
    tiny: [[13, 3, 7]],
    quick: [[250, 10, 256], [500, 10, 256], [1000, 10, 256]],
    full: [[1500, 10, 256], [3000, 10, 256], [6000, 10, 256]],
  },
  /** count_below: an (n, m) block of a distance matrix. */
  countBelow: {
    tiny: [[37, 41]],
    quick: [[512, 512], [1024, 1024], [2048, 2048]],
    full: [[1024, 1024], [2048, 2048], [4096, 4096]],
  },
  /** bias_add: x (n, c), a hidden layer of 128 units. */
  biasAdd: {
    tiny: [[37, 11]],
    quick: [[1024, 128], [4096, 128], [16384, 128]],
    full: [[2048, 128], [16384, 128], [65536, 128]],
  },
  /** relu forward and backward: elements. */
  relu: { tiny: [1000], quick: [2 ** 14, 2 ** 16, 2 ** 18], full: [2 ** 16, 2 ** 20, 2 ** 23] },
  /** softmax and cross_entropy: logits (n, 10), Fashion-MNIST's classes. */
  logits: {
    tiny: [[37, 10]],
    quick: [[1024, 10], [4096, 10], [16384, 10]],
    full: [[4096, 10], [16384, 10], [65536, 10]],
  },
  /** row sum, squared norms, row max-argmax and column sums: x (n, d), 256 features. */
  reduce: {
    tiny: [[37, 45]],
    quick: [[512, 256], [2048, 256], [8192, 256]],
    full: [[2048, 256], [8192, 256], [32768, 256]],
  },
  /** masked_argmax: n candidates. */
  maskedArgmax: { tiny: [1000], quick: [4096, 65536, 262144], full: [16384, 262144, 2 ** 22] },
  /** gather_rows: m rows of `cols` floats gathered from 2m. */
  gather: {
    tiny: [[13, 7]],
    quick: [[512, 256], [2048, 256], [8192, 256]],
    full: [[2048, 256], [8192, 256], [32768, 256]],
  },
  /** im2col and col2im. */
  conv: {
    tiny: [{ b: 2, h: 5, w: 6, cin: 3, k: 3, pad: 1 }],
    quick: [4, 16, 32].map(conv2),
    full: [16, 64, 128].map(conv2),
  },
  /** maxpool forward and backward (odd H, W in the tiny case: the last row and column are dropped). */
  pool: { tiny: [{ b: 2, h: 5, w: 7, c: 3 }], quick: [4, 16, 32].map(pool1), full: [16, 64, 128].map(pool1) },
  /** sgd: parameters. */
  sgd: { tiny: [1000], quick: [2 ** 14, 2 ** 16, 2 ** 18], full: [2 ** 16, 2 ** 20, 2 ** 22] },
} satisfies Record<string, Sizes<unknown>>;

// ---- Cases -----------------------------------------------------------------------------------------

/** One output to compare: name, the GPU tensor, the TS twin's array. */
export type Output = readonly [name: string, gpu: Tensor<DType>, ts: Float32Array | Uint32Array];

/** A case set up on a device: its inputs are on the GPU and in Float32Arrays. */
export interface Case {
  /** Records one run of the kernel(s); repeatable (outputs are overwritten, sgd steps again). */
  gpu: (step: Step) => void;
  /** One run of the plain-TypeScript twin. */
  ts: () => void;
  /** What the two write, for the smoke test. */
  outputs: readonly Output[];
  dispose: () => void;
}

/** Which target a case's row feeds. */
export type TargetRole = "matmul" | "pairwise" | "factorGram" | "materialised";

/** A benchmark case before setup. */
export interface CaseSpec {
  /** Kernel and variant as printed. */
  kernel: string;
  size: string;
  unit: "GFLOP/s" | "GB/s";
  /** FLOPs, or bytes read + written once, of one run. */
  work: number;
  /** False: the twin is not timed here (it still runs in the smoke test). */
  timeTs?: boolean;
  target?: TargetRole;
  /** Allocates seeded inputs and outputs on `gpu`. */
  setup: (gpu: Gpu) => Case;
}

/** A Float32Array of normals and its GPU copy. */
export function data(gpu: Gpu, rng: Rng, shape: number[]): [Float32Array, Tensor] {
  const a = rng.normals(shape.reduce((x, y) => x * y, 1));
  return [a, tensor(gpu, a, shape)];
}

/** A Uint32Array of integers in [0, below) and its GPU copy. */
function ints(gpu: Gpu, rng: Rng, shape: number[], below: number): [Uint32Array, Tensor<"u32">] {
  const a = new Uint32Array(shape.reduce((x, y) => x * y, 1));
  for (let i = 0; i < a.length; i++) a[i] = rng.int(below);
  return [a, tensor(gpu, a, shape)];
}

/** An f32 output: the twin's array and the GPU tensor. */
function outF32(gpu: Gpu, shape: number[]): [Float32Array, Tensor] {
  return [new Float32Array(shape.reduce((x, y) => x * y, 1)), empty(gpu, shape, "f32", "bench.out")];
}

/** A u32 output: the twin's array and the GPU tensor. */
function outU32(gpu: Gpu, shape: number[]): [Uint32Array, Tensor<"u32">] {
  return [new Uint32Array(shape.reduce((x, y) => x * y, 1)), empty(gpu, shape, "u32", "bench.out")];
}

function free(...tensors: Tensor<DType>[]): () => void {
  return () => tensors.forEach((t) => t.dispose());
}

/** `i === last` of a size list: the size a target is read at. */
function isLast(i: number, list: readonly unknown[]): boolean {
  return i === list.length - 1;
}

function matmulCase(s: number, opts: MatmulOptions, target?: TargetRole): CaseSpec {
  const [m, k, n] = [s, s, s];
  return {
    kernel: (opts.transA ? "matmul Aᵀ·B" : opts.transB ? "matmul A·Bᵀ" : "matmul A·B") +
      (opts.variant ? `, ${opts.variant} kernel` : ""),
    size: `${m}×${k}×${n}`,
    unit: "GFLOP/s",
    work: 2 * m * k * n,
    target,
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [av, a] = data(gpu, rng, opts.transA ? [k, m] : [m, k]);
      const [bv, b] = data(gpu, rng, opts.transB ? [n, k] : [k, n]);
      const [cv, c] = outF32(gpu, [m, n]);
      return {
        gpu: (step) => encodeMatmul(step, a, b, c, opts),
        ts: () => ts.tsMatmul({ a: av, b: bv, c: cv }, { m, k, n, ...opts }),
        outputs: [["C", c, cv]],
        dispose: free(a, b, c),
      };
    },
  };
}

function matmulCases(tier: Tier): CaseSpec[] {
  const sizes = SIZES.matmul[tier];
  const [t] = SIZES.matmulTransposed[tier];
  return [
    ...sizes.map((s, i) => matmulCase(s, {}, isLast(i, sizes) ? "matmul" : undefined)),
    // The tiled kernel forced: the default on GPUs, the previous one on CPU adapters (same run).
    ...sizes.map((s) => matmulCase(s, { variant: "tiled" })),
    matmulCase(t, { transA: true }),
    matmulCase(t, { transB: true }),
  ];
}

/** FLOPs per feature of each pairwise metric: multiply-add 2, subtract-square-add 3. */
const PAIRWISE_FLOPS = { dot: 2, sqeuclid: 3, exp: 3 } as const;

function pairwiseCase(n: number, d: number, metric: ts.TsMetric, target?: TargetRole): CaseSpec {
  // exp(−‖x − y‖ / c) with c ≈ the typical distance √(2d) between normal rows keeps entries near e⁻¹.
  const scale = Math.sqrt(2 * d);
  return {
    kernel: `pairwise ${metric}`,
    size: `${n}×${n}, d=${d}`,
    unit: "GFLOP/s",
    work: PAIRWISE_FLOPS[metric] * n * n * d,
    target,
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [x1v, x1] = data(gpu, rng, [n, d]);
      const [x2v, x2] = data(gpu, rng, [n, d]);
      const [ov, o] = outF32(gpu, [n, n]);
      return {
        gpu: (step) => encodePairwise(step, x1, x2, o, { metric, scale }),
        ts: () => ts.tsPairwise({ x1: x1v, x2: x2v, out: ov }, { d, metric, scale }),
        outputs: [["P", o, ov]],
        dispose: free(x1, x2, o),
      };
    },
  };
}

function pairwiseCases(tier: Tier): CaseSpec[] {
  const sizes = SIZES.pairwise[tier];
  const [[n, d]] = SIZES.pairwiseOther[tier];
  return [
    ...sizes.map(([n, d], i) => pairwiseCase(n, d, "sqeuclid", isLast(i, sizes) ? "pairwise" : undefined)),
    pairwiseCase(n, d, "dot"),
    pairwiseCase(n, d, "exp"),
  ];
}

/** Factors e (n, C), h (n, D) of per-sample last-layer gradients, on both sides. */
function factors(gpu: Gpu, n: number, c: number, d: number) {
  const rng = new Rng(SEED);
  const [ev, e] = data(gpu, rng, [n, c]);
  const [hv, h] = data(gpu, rng, [n, d]);
  return { ev, e, hv, h };
}

function perSampleGradCase(n: number, c: number, d: number): CaseSpec {
  const width = c * (d + 1);
  return {
    kernel: "per_sample_grad",
    size: `n=${n}, C=${c}, D=${d}`,
    unit: "GB/s",
    work: 4 * (n * c + n * d + n * width),
    setup: (gpu) => {
      const { ev, e, hv, h } = factors(gpu, n, c, d);
      const [gv, g] = outF32(gpu, [n, width]);
      return {
        gpu: (step) => encodePerSampleGrad(step, e, h, g),
        ts: () => ts.tsPerSampleGrad({ e: ev, h: hv, g: gv }, { c, d }),
        outputs: [["g", g, gv]],
        dispose: free(e, h, g),
      };
    },
  };
}

/**
 * The n×n Gram matrix of gᵢ = [eᵢ ⊗ hᵢ, eᵢ], factorised (factor_gram) or materialised: gᵢ written out by
 * per_sample_grad, then g·gᵀ by matmul. Both have the same TS twin; the materialised one's is not timed
 * (it would only repeat factor_gram's twin).
 */
function gramCase(
  n: number,
  c: number,
  d: number,
  how: "factorGram" | "materialised",
  last: boolean,
  variant?: FactorGramVariant,
): CaseSpec {
  const width = c * (d + 1);
  return {
    kernel: how === "factorGram"
      ? `factor_gram${variant ? `, ${variant} path` : ""}`
      : "Gram via g (per_sample_grad + matmul A·Bᵀ)",
    size: `n=${n}, C=${c}, D=${d}`,
    unit: "GFLOP/s",
    work: how === "factorGram" ? 2 * n * n * (c + d + 1) : 2 * n * n * width,
    timeTs: how === "factorGram" && !variant,
    target: last ? how : undefined,
    setup: (gpu) => {
      const { ev, e, hv, h } = factors(gpu, n, c, d);
      const [ov, o] = outF32(gpu, [n, n]);
      const g = how === "materialised" ? empty(gpu, [n, width], "f32", "bench.g") : null;
      return {
        gpu: (step) => {
          if (!g) return encodeFactorGram(step, { e, h }, { e, h }, o, { variant });
          encodePerSampleGrad(step, e, h, g);
          encodeMatmul(step, g, g, o, { transB: true });
        },
        ts: () => ts.tsFactorGram({ e: ev, h: hv, out: ov }, { c, d }),
        outputs: [["G", o, ov]],
        dispose: free(e, h, o, ...(g ? [g] : [])),
      };
    },
  };
}

function gradCases(tier: Tier): CaseSpec[] {
  const sizes = SIZES.grads[tier];
  const [n, c, d] = sizes[sizes.length - 1];
  return [
    ...sizes.map(([n, c, d]) => perSampleGradCase(n, c, d)),
    ...sizes.map(([n, c, d], i) => gramCase(n, c, d, "factorGram", isLast(i, sizes))),
    // Each of factor_gram's paths, whichever the adapter gets by default (the rows above).
    ...sizes.map(([n, c, d]) => gramCase(n, c, d, "factorGram", false, "blocked")),
    ...sizes.map(([n, c, d]) => gramCase(n, c, d, "factorGram", false, "fused")),
    gramCase(n, c, d, "materialised", true),
  ];
}

function countBelowCase(n: number, m: number): CaseSpec {
  // NFG's use: neighbours closer than a radius, a sample not counting itself.
  const opts = { threshold: 0.5, excludeDiagonal: true };
  return {
    kernel: "count_below",
    size: `${n}×${m}`,
    unit: "GB/s",
    work: 4 * (n * m + n),
    setup: (gpu) => {
      const [av, a] = data(gpu, new Rng(SEED), [n, m]);
      const [cv, counts] = outU32(gpu, [n]);
      return {
        gpu: (step) => encodeCountBelow(step, a, counts, opts),
        ts: () => ts.tsCountBelow({ a: av, counts: cv }, { m, ...opts }),
        outputs: [["counts", counts, cv]],
        dispose: free(a, counts),
      };
    },
  };
}

function biasAddCase(n: number, c: number): CaseSpec {
  return {
    kernel: "bias_add",
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 4 * (2 * n * c + c),
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [xv, x] = data(gpu, rng, [n, c]);
      const [bv, bias] = data(gpu, rng, [c]);
      const [ov, o] = outF32(gpu, [n, c]);
      return {
        gpu: (step) => encodeBiasAdd(step, x, bias, o),
        ts: () => ts.tsBiasAdd({ x: xv, bias: bv, out: ov }, c),
        outputs: [["out", o, ov]],
        dispose: free(x, bias, o),
      };
    },
  };
}

function reluCases(n: number): CaseSpec[] {
  const setup = (gpu: Gpu) => {
    const rng = new Rng(SEED);
    const [xv, x] = data(gpu, rng, [n]);
    const [dyv, dy] = data(gpu, rng, [n]);
    const [yv, y] = outF32(gpu, [n]);
    return { xv, x, dyv, dy, yv, y };
  };
  const base = { size: `${n}`, unit: "GB/s" } as const;
  return [
    {
      ...base,
      kernel: "relu",
      work: 8 * n,
      setup: (gpu) => {
        const { xv, x, dy, yv, y } = setup(gpu);
        return {
          gpu: (step) => encodeRelu(step, x, y),
          ts: () => ts.tsRelu(xv, yv),
          outputs: [["y", y, yv]],
          dispose: free(x, dy, y),
        };
      },
    },
    {
      ...base,
      kernel: "relu backward",
      work: 12 * n,
      setup: (gpu) => {
        const { xv, x, dyv, dy, yv, y } = setup(gpu);
        return {
          gpu: (step) => encodeReluBackward(step, x, dy, y),
          ts: () => ts.tsReluBackward({ x: xv, dy: dyv, dx: yv }),
          outputs: [["dx", y, yv]],
          dispose: free(x, dy, y),
        };
      },
    },
  ];
}

function softmaxCase(n: number, c: number): CaseSpec {
  return {
    kernel: "softmax",
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 8 * n * c,
    setup: (gpu) => {
      const [xv, x] = data(gpu, new Rng(SEED), [n, c]);
      const [yv, y] = outF32(gpu, [n, c]);
      return {
        gpu: (step) => encodeSoftmax(step, x, y),
        ts: () => ts.tsSoftmax({ x: xv, y: yv }, c),
        outputs: [["y", y, yv]],
        dispose: free(x, y),
      };
    },
  };
}

function crossEntropyCase(n: number, c: number): CaseSpec {
  const scale = 1 / n;
  return {
    kernel: "cross_entropy",
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 4 * (2 * n * c + 3 * n),
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [zv, logits] = data(gpu, rng, [n, c]);
      const [yv, labels] = ints(gpu, rng, [n], c);
      const wv = Float32Array.from({ length: n }, () => rng.next() + 0.5);
      const weights = tensor(gpu, wv, [n]);
      const [lv, loss] = outF32(gpu, [n]);
      const [dv, dlogits] = outF32(gpu, [n, c]);
      return {
        gpu: (step) => encodeCrossEntropy(step, { logits, labels, weights }, { loss, dlogits }, { scale }),
        ts: () =>
          ts.tsCrossEntropy({ logits: zv, labels: yv, weights: wv, loss: lv, dlogits: dv }, { c, scale }),
        outputs: [["loss", loss, lv], ["dlogits", dlogits, dv]],
        dispose: free(logits, labels, weights, loss, dlogits),
      };
    },
  };
}

/** A reduction writing one f32 per row of x (n, c): row_sum or sq_norms. */
function perRowCase(
  kernel: "row_sum" | "sq_norms",
  [n, c]: readonly number[],
): CaseSpec {
  const [encode, twin] = kernel === "row_sum" ? [encodeRowSum, ts.tsRowSum] : [encodeSqNorms, ts.tsSqNorms];
  return {
    kernel,
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 4 * (n * c + n),
    setup: (gpu) => {
      const [xv, x] = data(gpu, new Rng(SEED), [n, c]);
      const [ov, o] = outF32(gpu, [n]);
      return {
        gpu: (step) => encode(step, x, o),
        ts: () => twin({ x: xv, out: ov }, c),
        outputs: [["out", o, ov]],
        dispose: free(x, o),
      };
    },
  };
}

function rowMaxArgmaxCase([n, c]: readonly number[]): CaseSpec {
  return {
    kernel: "row_max_argmax",
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 4 * (n * c + 2 * n),
    setup: (gpu) => {
      const [xv, x] = data(gpu, new Rng(SEED), [n, c]);
      const [mv, max] = outF32(gpu, [n]);
      const [av, argmax] = outU32(gpu, [n]);
      return {
        gpu: (step) => encodeRowMaxArgmax(step, x, { max, argmax }),
        ts: () => ts.tsRowMaxArgmax({ x: xv, max: mv, argmax: av }, c),
        outputs: [["max", max, mv], ["argmax", argmax, av]],
        dispose: free(x, max, argmax),
      };
    },
  };
}

function colSumCase([n, c]: readonly number[]): CaseSpec {
  return {
    kernel: "col_sum",
    size: `${n}×${c}`,
    unit: "GB/s",
    work: 4 * (n * c + c),
    setup: (gpu) => {
      const [xv, x] = data(gpu, new Rng(SEED), [n, c]);
      const [ov, o] = outF32(gpu, [c]);
      return {
        gpu: (step) => encodeColSum(step, x, o),
        ts: () => ts.tsColSum({ x: xv, out: ov }, c),
        outputs: [["out", o, ov]],
        dispose: free(x, o),
      };
    },
  };
}

function maskedArgmaxCase(n: number): CaseSpec {
  return {
    kernel: "masked_argmax",
    size: `${n}`,
    unit: "GB/s",
    work: 4 * (2 * n + 2),
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [vv, v] = data(gpu, rng, [n]);
      const [mv, mask] = ints(gpu, rng, [n], 2); // about half the candidates already chosen
      const [ov, o] = outU32(gpu, [2]);
      return {
        gpu: (step) => encodeMaskedArgmax(step, v, mask, o),
        ts: () => ts.tsMaskedArgmax({ v: vv, mask: mv, out: ov }),
        outputs: [["(index, value bits)", o, ov]],
        dispose: free(v, mask, o),
      };
    },
  };
}

function gatherRowsCase(m: number, cols: number): CaseSpec {
  return {
    kernel: "gather_rows",
    size: `${m}×${cols} of ${2 * m}`,
    unit: "GB/s",
    work: 4 * (m + 2 * m * cols),
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [xv, x] = data(gpu, rng, [2 * m, cols]);
      const [iv, index] = ints(gpu, rng, [m], 2 * m);
      const [ov, o] = outF32(gpu, [m, cols]);
      return {
        gpu: (step) => encodeGatherRows(step, x, index, o),
        ts: () => ts.tsGatherRows({ x: xv, index: iv, out: ov }, cols),
        outputs: [["out", o, ov]],
        dispose: free(x, index, o),
      };
    },
  };
}

function convCases(g: ts.ConvDims): CaseSpec[] {
  const [ho, wo] = [g.h + 2 * g.pad - g.k + 1, g.w + 2 * g.pad - g.k + 1];
  const xShape = [g.b, g.h, g.w, g.cin];
  const colsShape = [g.b * ho * wo, g.k * g.k * g.cin];
  const base = {
    size: `${g.b}×${g.h}×${g.w}×${g.cin}, k=${g.k}`,
    unit: "GB/s",
    work: 4 * (g.b * g.h * g.w * g.cin + colsShape[0] * colsShape[1]),
  } as const;
  const opts = { k: g.k, pad: g.pad };
  return [
    {
      ...base,
      kernel: "im2col",
      setup: (gpu) => {
        const [xv, x] = data(gpu, new Rng(SEED), xShape);
        const [cv, cols] = outF32(gpu, colsShape);
        return {
          gpu: (step) => encodeIm2col(step, x, cols, opts),
          ts: () => ts.tsIm2col({ x: xv, cols: cv }, g),
          outputs: [["cols", cols, cv]],
          dispose: free(x, cols),
        };
      },
    },
    {
      ...base,
      kernel: "col2im",
      setup: (gpu) => {
        const [cv, dcols] = data(gpu, new Rng(SEED), colsShape);
        const [xv, dx] = outF32(gpu, xShape);
        return {
          gpu: (step) => encodeCol2im(step, dcols, dx, opts),
          ts: () => ts.tsCol2im({ dcols: cv, dx: xv }, g),
          outputs: [["dx", dx, xv]],
          dispose: free(dcols, dx),
        };
      },
    },
  ];
}

function poolCases(g: ts.PoolDims): CaseSpec[] {
  const xShape = [g.b, g.h, g.w, g.c];
  const yShape = [g.b, Math.floor(g.h / 2), Math.floor(g.w / 2), g.c];
  const [big, small] = [g.b * g.h * g.w * g.c, yShape.reduce((a, b) => a * b, 1)];
  const base = { size: `${g.b}×${g.h}×${g.w}×${g.c}`, unit: "GB/s" } as const;
  return [
    {
      ...base,
      kernel: "maxpool",
      work: 4 * (big + 2 * small),
      setup: (gpu) => {
        const [xv, x] = data(gpu, new Rng(SEED), xShape);
        const [yv, y] = outF32(gpu, yShape);
        const [av, argmax] = outU32(gpu, yShape);
        return {
          gpu: (step) => encodeMaxpool(step, x, y, argmax),
          ts: () => ts.tsMaxpool({ x: xv, y: yv, argmax: av }, g),
          outputs: [["y", y, yv], ["argmax", argmax, av]],
          dispose: free(x, y, argmax),
        };
      },
    },
    {
      ...base,
      kernel: "maxpool backward",
      work: 4 * (2 * small + big),
      setup: (gpu) => {
        const rng = new Rng(SEED);
        const [dyv, dy] = data(gpu, rng, yShape);
        const [av, argmax] = ints(gpu, rng, yShape, 4); // window positions 0..3
        const [dxv, dx] = outF32(gpu, xShape);
        return {
          gpu: (step) => encodeMaxpoolBackward(step, dy, argmax, dx),
          ts: () => ts.tsMaxpoolBackward({ dy: dyv, argmax: av, dx: dxv }, g),
          outputs: [["dx", dx, dxv]],
          dispose: free(dy, argmax, dx),
        };
      },
    },
  ];
}

/** torch.optim.SGD with Nesterov momentum and weight decay, as the trainer uses it. */
const SGD_STEP: ts.TsSgdStep = { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: true };

function sgdCase(n: number): CaseSpec {
  return {
    kernel: "sgd",
    size: `${n}`,
    unit: "GB/s",
    work: 4 * 5 * n,
    setup: (gpu) => {
      const rng = new Rng(SEED);
      const [wv, w] = data(gpu, rng, [n]);
      const [gv, grad] = data(gpu, rng, [n]);
      const [vv, velocity] = data(gpu, rng, [n]);
      // The step is in place: the twin steps copies, so both start from the same state.
      const [tw, tv] = [wv.slice(), vv.slice()];
      return {
        gpu: (step) => encodeSgd(step, w, grad, velocity, SGD_STEP),
        ts: () => ts.tsSgd({ w: tw, grad: gv, velocity: tv }, SGD_STEP),
        outputs: [["w", w, tw], ["velocity", velocity, tv]],
        dispose: free(w, grad, velocity),
      };
    },
  };
}

/** Every case of a tier, in the order they run: families whose targets matter first. */
export function caseSpecs(tier: Tier): CaseSpec[] {
  return [
    ...matmulCases(tier),
    ...pairwiseCases(tier),
    ...gradCases(tier),
    ...SIZES.countBelow[tier].map(([n, m]) => countBelowCase(n, m)),
    ...SIZES.biasAdd[tier].map(([n, c]) => biasAddCase(n, c)),
    ...SIZES.relu[tier].flatMap(reluCases),
    ...SIZES.logits[tier].map(([n, c]) => softmaxCase(n, c)),
    ...SIZES.logits[tier].map(([n, c]) => crossEntropyCase(n, c)),
    ...SIZES.reduce[tier].flatMap((nc) => [
      perRowCase("row_sum", nc),
      perRowCase("sq_norms", nc),
      rowMaxArgmaxCase(nc),
      colSumCase(nc),
    ]),
    ...SIZES.maskedArgmax[tier].map(maskedArgmaxCase),
    ...SIZES.gather[tier].map(([m, cols]) => gatherRowsCase(m, cols)),
    ...SIZES.conv[tier].flatMap(convCases),
    ...SIZES.pool[tier].flatMap(poolCases),
    ...SIZES.sgd[tier].map(sgdCase),
  ];
}

/** Runs `c` once on the GPU and once in TS (the smoke test's check; nothing timed). */
export async function runOnce(gpu: Gpu, c: Case): Promise<void> {
  await run(gpu, "bench once", c.gpu);
  c.ts();
}

// ---- Measuring and reporting -----------------------------------------------------------------------

/** One measured case. Times are per run, in ms; the TS fields are null when the twin is not timed. */
export interface Row {
  kernel: string;
  size: string;
  unit: string;
  work: number;
  gpuMs: number;
  gpuRepeats: number;
  tsMs: number | null;
  tsRepeats: number | null;
  target?: TargetRole;
}

async function measure(gpu: Gpu, spec: CaseSpec, timing: RepeatOptions): Promise<Row> {
  const c = spec.setup(gpu);
  try {
    const g = await timeGpuRepeated(gpu, c.gpu, timing);
    const t: RepeatedTime | null = spec.timeTs === false ? null : await timeSyncRepeated(c.ts, timing);
    return {
      kernel: spec.kernel,
      size: spec.size,
      unit: spec.unit,
      work: spec.work,
      gpuMs: g.ms,
      gpuRepeats: g.repeats,
      tsMs: t?.ms ?? null,
      tsRepeats: t?.repeats ?? null,
      target: spec.target,
    };
  } finally {
    c.dispose();
  }
}

/** A time with a unit that keeps 3 significant digits: "12.3 µs", "4.56 ms", "1.23 s". */
function fmtTime(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  return ms < 1000 ? `${ms.toPrecision(3)} ms` : `${(ms / 1000).toPrecision(3)} s`;
}

function rate(row: Row, ms: number): string {
  return `${(row.work / (ms * 1e6)).toPrecision(3)} ${row.unit}`;
}

const HEADERS = ["kernel", "size", "R", "GPU", "GPU rate", "plain TS", "TS rate", "speed-up"];

function cells(row: Row): string[] {
  const t = row.tsMs;
  return [
    row.kernel,
    row.size,
    String(row.gpuRepeats),
    fmtTime(row.gpuMs),
    rate(row, row.gpuMs),
    t === null ? "— (not timed)" : fmtTime(t),
    t === null ? "—" : rate(row, t),
    t === null ? "—" : `${(t / row.gpuMs).toFixed(2)}×`,
  ];
}

/** One target's verdict. */
export interface TargetResult {
  target: string;
  size: string;
  measured: string;
  required: string;
  verdict: "PASS" | "FAIL" | "missing";
  /** The measured number and its minimum, for the JSON. */
  value: number | null;
  min: number;
}

/** The issue's targets, read off the rows that carry a role. */
export function targets(rows: readonly Row[]): TargetResult[] {
  const by = (role: TargetRole) => rows.find((r) => r.target === role);
  const check = (
    target: string,
    row: Row | undefined,
    value: (r: Row) => number | null,
    min: number,
    unit: string,
  ) => {
    const v = row ? value(row) : null;
    return {
      target,
      size: row?.size ?? "—",
      measured: v === null ? "—" : `${v.toFixed(2)}${unit}`,
      required: `≥ ${min}${unit}`,
      verdict: v === null ? "missing" : v >= min ? "PASS" : "FAIL",
      value: v,
      min,
    } as TargetResult;
  };
  const speedUp = (r: Row) => (r.tsMs === null ? null : r.tsMs / r.gpuMs);
  const mat = by("materialised");
  return [
    check("matmul A·B: GPU rate", by("matmul"), (r) => r.work / (r.gpuMs * 1e6), 3, " GFLOP/s"),
    check("matmul A·B: vs plain TS i-k-j", by("matmul"), speedUp, 2.5, "×"),
    check("pairwise sqeuclid: vs plain TS", by("pairwise"), speedUp, 2.5, "×"),
    check(
      "factor_gram: vs materialised g·gᵀ (GPU)",
      by("factorGram"),
      (r) => (mat ? mat.gpuMs / r.gpuMs : null),
      5,
      "×",
    ),
  ];
}

/** `deno task bench kernels [--quick] [--only WORD,…] [--json=FILE]`. */
export async function main(args: readonly string[] = Deno.args): Promise<void> {
  const quick = args.includes("--quick");
  const jsonPath = argValue(args, "--json");
  const tier: Tier = quick ? "quick" : "full";
  const timing = quick ? QUICK_TIMING : FULL_TIMING;
  const gpu = await acquireGpu();
  const prov = await provenance(gpu);
  console.log(`${prov}\n\n# Kernel benchmarks (${tier} sizes)\n`);
  // `--only a,b`: the cases whose kernel column contains one of the words (e.g. `--only factor_gram,Gram`).
  const only = argValue(args, "--only")?.split(",").filter(Boolean);
  const specs = caseSpecs(tier).filter((s) => !only || only.some((w) => s.kernel.includes(w)));
  if (specs.length === 0) throw new Error(`--only ${only}: no kernel case matches`);
  const rows: Row[] = [];
  const t0 = performance.now();
  for (const [i, spec] of specs.entries()) {
    const row = await measure(gpu, spec, timing);
    rows.push(row);
    console.error(`[${i + 1}/${specs.length}] ${cells(row).join(" · ")}`);
  }
  const total = (performance.now() - t0) / 1000;
  console.log(table(HEADERS, rows.map(cells)));
  console.log(
    `\nR: kernel runs recorded per step (GPU time = step wall time / R). ` +
      `Median of ${timing.samples} sample(s) ≥ ${timing.minSampleMs} ms; runs ≥ ${timing.longMs} ms timed once. ` +
      `${specs.length} cases in ${total.toFixed(0)} s.\n\n## Targets\n`,
  );
  const results = targets(rows);
  console.log(
    table(
      ["target", "size", "measured", "required", "verdict"],
      results.map((r) => [r.target, r.size, r.measured, r.required, r.verdict]),
    ),
  );
  if (quick) {
    console.log("\n(--quick: measured at the quick sizes shown, not the targets'; run without --quick.)");
  }
  if (jsonPath) {
    await Deno.writeTextFile(
      jsonPath,
      JSON.stringify({ provenance: prov, tier, timing, rows, targets: results }, null, 2) + "\n",
    );
    console.log(`\nwrote ${jsonPath}`);
  }
  gpu.destroy();
}

if (import.meta.main) await main();
