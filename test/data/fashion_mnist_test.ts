import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  loadFashionMnist,
  loadFashionMnistSplit,
} from "../../src/data/fashion_mnist.ts";
import { encodeIdx } from "../../src/data/idx.ts";
import { DataFileNotFoundError, DatasetMismatchError, MalformedFileError } from "../../src/data/errors.ts";
import { DatasetStore } from "../../src/data/store.ts";
import { gzip, histogram, rejectsTyped, tempDir } from "./helpers.ts";

Deno.test("loadFashionMnist: 60,000 + 10,000 samples of [1, 28, 28] in [0, 1], 10 named classes", async () => {
  const ds = await loadFashionMnist();
  assert.deepEqual([ds.inputShape, ds.numClasses, ds.classNames], [[1, 28, 28], 10, [
    ...FASHION_MNIST_CLASSES,
  ]]);
  assert.equal(ds.source, `fashion-mnist:${FASHION_MNIST_DIR}`);
  assert.deepEqual([ds.train.labels.length, ds.train.features.length], [60000, 60000 * 784]);
  assert.deepEqual([ds.test!.labels.length, ds.test!.features.length], [10000, 10000 * 784]);
  assert.deepEqual(histogram(ds.train.labels, 10), new Array(10).fill(6000));
  let [min, max, sum] = [Infinity, -Infinity, 0];
  const x = ds.train.features;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum += x[i];
  }
  assert.deepEqual([min, max], [0, 1]);
  assert.ok(Math.abs(sum / x.length - 0.2860) < 5e-4);
});

Deno.test("loadFashionMnistSplit: normalize standardises to mean ≈ 0, std ≈ 1", async () => {
  const { features: x } = await loadFashionMnistSplit(FASHION_MNIST_DIR, "t10k", true);
  let [s, s2] = [0, 0];
  for (let i = 0; i < x.length; i++) [s, s2] = [s + x[i], s2 + x[i] * x[i]];
  const mean = s / x.length;
  const std = Math.sqrt(s2 / x.length - mean * mean);
  // The constants are the train split's; the test split is within 1% of them.
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(std - 1) < 0.01, `mean ${mean} std ${std}`);
});

Deno.test("loadFashionMnist: the real test split stores and loads back bit-identical", async () => {
  await using dir = await tempDir();
  const split = await loadFashionMnistSplit(FASHION_MNIST_DIR, "t10k");
  const store = new DatasetStore(dir.path);
  const meta = await store.put("fmnist-test", {
    train: split,
    inputShape: [1, 28, 28],
    numClasses: 10,
    classNames: [...FASHION_MNIST_CLASSES],
    source: "test",
  });
  assert.deepEqual(meta.classCounts, new Array(10).fill(1000));
  const got = await store.get("fmnist-test");
  assert.deepEqual(got.train.labels, split.labels);
  assert.ok(Buffer.from(got.train.features.buffer).equals(Buffer.from(split.features.buffer)));
});

Deno.test("loadFashionMnist: missing files and images/labels count mismatch are typed errors", async () => {
  await using dir = await tempDir();
  await rejectsTyped(
    loadFashionMnist({ dir: dir.path }),
    DataFileNotFoundError,
    "ubyte.gz",
    "dataset-fashion-mnist",
  );
  const images = encodeIdx({ dtype: "uint8", shape: [3, 28, 28], data: new Uint8Array(3 * 784) });
  await Deno.writeFile(`${dir.path}/t10k-images-idx3-ubyte.gz`, await gzip(images));
  // Plain (not gzipped) files are found too.
  await Deno.writeFile(
    `${dir.path}/t10k-labels-idx1-ubyte`,
    encodeIdx({ dtype: "uint8", shape: [2], data: new Uint8Array(2) }),
  );
  await rejectsTyped(
    loadFashionMnistSplit(dir.path, "t10k"),
    DatasetMismatchError,
    "fashion-mnist/t10k",
    "3 images",
    "t10k-labels-idx1-ubyte has 2 labels",
  );
  await Deno.writeFile(
    `${dir.path}/t10k-labels-idx1-ubyte`,
    encodeIdx({ dtype: "uint8", shape: [3], data: Uint8Array.of(0, 10, 1) }),
  );
  await rejectsTyped(loadFashionMnistSplit(dir.path, "t10k"), DatasetMismatchError, "labels[1] is 10");
});

Deno.test("loadFashionMnistSplit: IDX files of the wrong type or shape name the file", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(
    `${dir.path}/train-images-idx3-ubyte`,
    encodeIdx({ dtype: "uint8", shape: [2, 28, 27], data: new Uint8Array(2 * 28 * 27) }),
  );
  await Deno.writeFile(
    `${dir.path}/train-labels-idx1-ubyte`,
    encodeIdx({ dtype: "int32", shape: [2], data: new Int32Array(2) }),
  );
  await rejectsTyped(
    loadFashionMnistSplit(dir.path, "train"),
    MalformedFileError,
    "train-images",
    "(2, 28, 27)",
  );
  await Deno.writeFile(
    `${dir.path}/train-images-idx3-ubyte`,
    encodeIdx({ dtype: "uint8", shape: [2, 28, 28], data: new Uint8Array(2 * 784) }),
  );
  await rejectsTyped(
    loadFashionMnistSplit(dir.path, "train"),
    MalformedFileError,
    "train-labels",
    "int32 (2)",
  );
});
