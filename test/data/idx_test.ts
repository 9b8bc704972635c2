import assert from "node:assert/strict";
import { decodeIdx, encodeIdx, type IdxArray, parseIdx, readIdx } from "../../src/data/idx.ts";
import { DataFileNotFoundError, MalformedFileError } from "../../src/data/errors.ts";
import { FASHION_MNIST_DIR } from "../../src/data/fashion_mnist.ts";
import { gzip, histogram, rejectsTyped, throwsTyped } from "./helpers.ts";

Deno.test("readIdx: real Fashion-MNIST train and test files (gzip)", async () => {
  const [trainX, trainY, testX, testY] = await Promise.all([
    readIdx(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`),
    readIdx(`${FASHION_MNIST_DIR}/train-labels-idx1-ubyte.gz`),
    readIdx(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`),
    readIdx(`${FASHION_MNIST_DIR}/t10k-labels-idx1-ubyte.gz`),
  ]);
  assert.deepEqual([trainX.dtype, trainX.shape], ["uint8", [60000, 28, 28]]);
  assert.deepEqual([trainY.dtype, trainY.shape], ["uint8", [60000]]);
  assert.deepEqual([testX.dtype, testX.shape], ["uint8", [10000, 28, 28]]);
  assert.deepEqual([testY.dtype, testY.shape], ["uint8", [10000]]);
  assert.deepEqual(histogram(trainY.data, 10), new Array(10).fill(6000));
  assert.deepEqual(histogram(testY.data, 10), new Array(10).fill(1000));
  let [min, max, sum] = [255, 0, 0];
  const px = trainX.data;
  for (let i = 0; i < px.length; i++) {
    if (px[i] < min) min = px[i];
    if (px[i] > max) max = px[i];
    sum += px[i];
  }
  assert.deepEqual([min, max], [0, 255]);
  // The published mean of the scaled training pixels is 0.2860.
  assert.ok(
    Math.abs(sum / trainX.data.length / 255 - 0.2860) < 5e-4,
    `mean ${sum / trainX.data.length / 255}`,
  );
  // The first training label is 9 (ankle boot) in the official release.
  assert.equal(trainY.data[0], 9);
});

const SAMPLES: IdxArray[] = [
  { dtype: "uint8", shape: [2, 3], data: Uint8Array.of(0, 1, 2, 127, 128, 255) },
  { dtype: "int8", shape: [4], data: Int8Array.of(-128, -1, 0, 127) },
  { dtype: "int16", shape: [1, 3], data: Int16Array.of(-32768, 258, 32767) },
  { dtype: "int32", shape: [3, 1, 1], data: Int32Array.of(-(2 ** 31), 16909060, 2 ** 31 - 1) },
  { dtype: "float32", shape: [2], data: Float32Array.of(-1.5, 3.25e-20) },
  { dtype: "float64", shape: [2, 1], data: Float64Array.of(Math.PI, -1e300) },
  { dtype: "uint8", shape: [0, 28, 28], data: new Uint8Array(0) },
];

Deno.test("parseIdx/decodeIdx: every type code round-trips, plain and gzipped, big-endian on disk", async () => {
  for (const sample of SAMPLES) {
    const bytes = encodeIdx(sample);
    for (const got of [parseIdx(bytes), await decodeIdx(bytes), await decodeIdx(await gzip(bytes))]) {
      assert.equal(got.dtype, sample.dtype);
      assert.deepEqual(got.shape, sample.shape);
      assert.equal(got.data.constructor, sample.data.constructor);
      assert.deepEqual(Array.from(got.data), Array.from(sample.data));
    }
  }
  // Big-endian: 0x01020304 is stored as 01 02 03 04 after the 8-byte header.
  const bytes = encodeIdx({ dtype: "int32", shape: [1], data: Int32Array.of(0x01020304) });
  assert.deepEqual(Array.from(bytes), [0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]);
});

Deno.test("parseIdx: the result never aliases the input bytes", () => {
  const bytes = encodeIdx(SAMPLES[0]);
  const got = parseIdx(bytes, "x.idx");
  bytes[8] = 99;
  assert.equal(got.data[0], 0);
});

Deno.test("parseIdx: malformed files are MalformedFileErrors naming the file and the problem", () => {
  const good = encodeIdx({ dtype: "uint8", shape: [2, 2, 2], data: new Uint8Array(8) });
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "truncated header"],
    [
      "bad magic (nonzero first byte)",
      Uint8Array.of(1, 0, 8, 3, ...good.subarray(4)),
      "bad magic 0x01000803",
    ],
    ["unknown type code", Uint8Array.of(0, 0, 0x0a, 3, ...good.subarray(4)), "bad magic 0x00000a03"],
    ["zero dimensions", Uint8Array.of(0, 0, 8, 0), "zero dimensions"],
    [
      "truncated header",
      good.subarray(0, 10),
      "truncated header: 3 dimensions need 16 header bytes, file has 10",
    ],
    ["truncated data", good.subarray(0, good.length - 1), "truncated data"],
    ["trailing bytes", Uint8Array.of(...good, 0, 0), "2 trailing bytes"],
    ["dims overflow", Uint8Array.of(0, 0, 0x0e, 3, ...new Array(12).fill(0xff)), "overflow"],
  ];
  for (const [what, bytes, problem] of cases) {
    throwsTyped(() => parseIdx(bytes, `case-${what}.idx`), MalformedFileError, `case-${what}.idx`, problem);
  }
});

Deno.test("decodeIdx: a gzipped truncated file and a truncated gzip stream are both caught", async () => {
  const good = encodeIdx({ dtype: "float32", shape: [3, 5], data: new Float32Array(15) });
  await rejectsTyped(
    decodeIdx(await gzip(good.subarray(0, good.length - 4)), "short.idx.gz"),
    MalformedFileError,
    "short.idx.gz",
    "truncated data",
  );
  const gz = await gzip(good);
  await rejectsTyped(
    decodeIdx(gz.slice(0, gz.length - 10), "cut.idx.gz"),
    MalformedFileError,
    "cut.idx.gz",
    "gzip",
  );
});

Deno.test("readIdx: a missing file is a DataFileNotFoundError naming it", async () => {
  await rejectsTyped(
    readIdx("/nonexistent/x-idx1-ubyte"),
    DataFileNotFoundError,
    "/nonexistent/x-idx1-ubyte",
  );
});
