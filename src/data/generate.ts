/**
 * Generated datasets for tests and benchmarks: isotropic Gaussian blobs, one per class.
 *
 *   μ_c ~ N(0, centerScale² I_d)          c = 0 … classes−1
 *   y_i = a balanced, shuffled labelling  (class sizes differ by at most one)
 *   x_i = μ_{y_i} + spread · ε_i,  ε_i ~ N(0, I_d)
 *
 * Centres, labels and noise come from three independent streams forked from `Rng(seed)`, so the
 * centres depend only on (seed, classes, d): growing n adds samples without moving the blobs.
 */
import { InvalidInputError } from "../errors.ts";
import { Rng } from "../util/rng.ts";
import type { DatasetInput, Split } from "./validate.ts";

/** Options of `gaussianBlobs`; defaults in brackets. */
export interface GaussianBlobsConfig {
  /** Number of samples, ≥ 0. */
  n: number;
  /** Feature dimension, ≥ 1. */
  d: number;
  /** Number of classes, ≥ 1. */
  classes: number;
  /** Seed of everything drawn [0]. */
  seed?: number;
  /** Standard deviation of each blob around its centre [1]. */
  spread?: number;
  /** Standard deviation of the centres around the origin [4]: with spread 1, classes barely overlap. */
  centerScale?: number;
}

/** Samples drawn by `gaussianBlobs`. */
export interface GaussianBlobs {
  /** (n, d) f32, row-major. */
  features: Float32Array;
  /** (n) u32, each < classes. */
  labels: Uint32Array;
  /** (classes, d) f32, row-major: the blob centres μ_c. */
  centers: Float32Array;
}

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new InvalidInputError(`gaussianBlobs: ${what}, got ${value}`);
}

/** Checks the options and fills in defaults. */
function resolve(config: GaussianBlobsConfig): Required<GaussianBlobsConfig> {
  const { n, d, classes, seed = 0, spread = 1, centerScale = 4 } = config;
  check(Number.isSafeInteger(n) && n >= 0, "n must be an integer ≥ 0", n);
  check(Number.isSafeInteger(d) && d >= 1, "d must be an integer ≥ 1", d);
  check(
    Number.isSafeInteger(classes) && classes >= 1 && classes <= 2 ** 32,
    "classes must be an integer ≥ 1",
    classes,
  );
  check(Number.isFinite(spread) && spread >= 0, "spread must be finite and ≥ 0", spread);
  check(Number.isFinite(centerScale) && centerScale >= 0, "centerScale must be finite and ≥ 0", centerScale);
  return { n, d, classes, seed, spread, centerScale };
}

/** The three independent streams: centres, labels, noise. */
function streams(seed: number): [Rng, Rng, Rng] {
  const root = new Rng(seed);
  return [root.fork(), root.fork(), root.fork()];
}

/** `n` balanced, shuffled labels and their samples around `centers` (classes, d), drawn from the streams. */
function draw(c: Required<GaussianBlobsConfig>, centers: Float32Array, labelRng: Rng, noiseRng: Rng): Split {
  const { n, d, classes, spread } = c;
  const labels = new Uint32Array(n); // (n) u32
  for (let i = 0; i < n; i++) labels[i] = i % classes;
  labelRng.shuffle(labels);
  const features = new Float32Array(n * d); // (n, d) f32, row-major
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    for (let j = 0; j < d; j++) features[i * d + j] = centers[y * d + j] + spread * noiseRng.normal();
  }
  return { features, labels };
}

/** Draws `n` samples from `classes` Gaussian blobs in `d` dimensions, deterministically per seed. */
export function gaussianBlobs(config: GaussianBlobsConfig): GaussianBlobs {
  const c = resolve(config);
  const [centerRng, labelRng, noiseRng] = streams(c.seed);
  const centers = centerRng.normals(c.classes * c.d, c.centerScale);
  return { ...draw(c, centers, labelRng, noiseRng), centers };
}

/**
 * Gaussian blobs as a dataset ready for `DatasetStore.put`. The train split is exactly
 * `gaussianBlobs(config)`; the `nTest` test samples (balanced too) continue the same streams, so they
 * come from the same blobs and never repeat a training sample.
 */
export function gaussianBlobsDataset(config: GaussianBlobsConfig & { nTest?: number }): DatasetInput {
  const { nTest = 0, ...rest } = config;
  check(Number.isSafeInteger(nTest) && nTest >= 0, "nTest must be an integer ≥ 0", nTest);
  const c = resolve(rest);
  const [centerRng, labelRng, noiseRng] = streams(c.seed);
  const centers = centerRng.normals(c.classes * c.d, c.centerScale);
  const train = draw(c, centers, labelRng, noiseRng);
  const test = nTest > 0 ? draw({ ...c, n: nTest }, centers, labelRng, noiseRng) : undefined;
  const { n, d, classes, seed, spread, centerScale } = c;
  return {
    train,
    test,
    inputShape: [d],
    numClasses: classes,
    source: `generated:gaussian-blobs?n=${n}&nTest=${nTest}&d=${d}&classes=${classes}&seed=${seed}` +
      `&spread=${spread}&centerScale=${centerScale}`,
  };
}
