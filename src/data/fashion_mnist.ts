/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) from its IDX files, as Debian's
 * `dataset-fashion-mnist` installs them: `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
 *
 * Features are pixel / 255 ∈ [0, 1] as float32, shape [1, 28, 28] per sample (C × H × W). They are not
 * normalised by default: a stored dataset should hold the data itself, and standardising is a fixed
 * affine map that the model's input layer applies (FASHION_MNIST_MEAN/STD are exported for it).
 * `normalize: true` applies (x − 0.2860) / 0.3530 here instead, for callers without such a layer.
 */
import { DataFileNotFoundError, DatasetMismatchError, MalformedFileError } from "./errors.ts";
import { type IdxArray, readIdx } from "./idx.ts";
import type { DatasetInput, Split } from "./validate.ts";
import { validateSplit } from "./validate.ts";

/** Where Debian's dataset-fashion-mnist puts the files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Class names, index = label (from the paper's Table 1). */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

/** Mean and standard deviation of the training pixels after scaling to [0, 1]. */
export const FASHION_MNIST_MEAN = 0.2860;
export const FASHION_MNIST_STD = 0.3530;

/** Shape of one sample: one channel of 28 × 28 pixels. */
export const FASHION_MNIST_SHAPE = [1, 28, 28] as const;

/** Options of `loadFashionMnist`; defaults in brackets. */
export interface FashionMnistOptions {
  /** Directory holding the IDX files [FASHION_MNIST_DIR]. */
  dir?: string;
  /** Standardise pixels with FASHION_MNIST_MEAN/STD instead of leaving them in [0, 1] [false]. */
  normalize?: boolean;
}

/** Loads both splits (60,000 train, 10,000 test) as a dataset ready for `DatasetStore.put`. */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<DatasetInput> {
  const dir = (options.dir ?? FASHION_MNIST_DIR).replace(/\/+$/, "");
  const normalize = options.normalize ?? false;
  const [train, test] = await Promise.all([
    loadFashionMnistSplit(dir, "train", normalize),
    loadFashionMnistSplit(dir, "t10k", normalize),
  ]);
  return {
    train,
    test,
    inputShape: [...FASHION_MNIST_SHAPE],
    numClasses: FASHION_MNIST_CLASSES.length,
    classNames: [...FASHION_MNIST_CLASSES],
    source: `fashion-mnist:${dir}${normalize ? `?normalize=${FASHION_MNIST_MEAN},${FASHION_MNIST_STD}` : ""}`,
  };
}

/** Loads one split: `prefix` is "train" or "t10k" (the test split's file prefix). */
export async function loadFashionMnistSplit(dir: string, prefix: string, normalize = false): Promise<Split> {
  const [imagesPath, labelsPath] = await Promise.all([
    findFile(`${dir}/${prefix}-images-idx3-ubyte`),
    findFile(`${dir}/${prefix}-labels-idx1-ubyte`),
  ]);
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  const [h, w] = FASHION_MNIST_SHAPE.slice(1);
  const dims = (a: IdxArray) => `${a.dtype} (${a.shape.join(", ")})`;
  if (
    images.dtype !== "uint8" || images.shape.length !== 3 || images.shape[1] !== h || images.shape[2] !== w
  ) {
    throw new MalformedFileError(imagesPath, `expected uint8 images (n, ${h}, ${w}), got ${dims(images)}`);
  }
  if (labels.dtype !== "uint8" || labels.shape.length !== 1) {
    throw new MalformedFileError(labelsPath, `expected uint8 labels (n), got ${dims(labels)}`);
  }
  const where = `fashion-mnist/${prefix}`;
  if (images.shape[0] !== labels.shape[0]) {
    const counts = `${imagesPath} has ${images.shape[0]} images, ${labelsPath} has ${labels.shape[0]} labels`;
    throw new DatasetMismatchError(where, `shape mismatch: ${counts}`);
  }
  const split = {
    features: scalePixels(images.data as Uint8Array, normalize),
    labels: Uint32Array.from(labels.data),
  };
  validateSplit(where, split, FASHION_MNIST_SHAPE, FASHION_MNIST_CLASSES.length);
  return split;
}

/** Pixels (n, 1, 28, 28) u8 → f32: v / 255, standardised if `normalize`. */
function scalePixels(pixels: Uint8Array, normalize: boolean): Float32Array {
  // One table lookup per pixel: the 256 possible values are converted once.
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    table[v] = normalize ? (v / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD : v / 255;
  }
  const features = new Float32Array(pixels.length); // (n, 1, 28, 28) f32
  for (let i = 0; i < pixels.length; i++) features[i] = table[pixels[i]];
  return features;
}

/** `base.gz` if it exists, else `base`; a `DataFileNotFoundError` that says what to install otherwise. */
async function findFile(base: string): Promise<string> {
  for (const path of [`${base}.gz`, base]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new DataFileNotFoundError(`${base}.gz`, {
    hint: "install Debian's dataset-fashion-mnist, or pass `dir` naming the directory of the IDX files",
  });
}
