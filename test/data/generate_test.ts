import assert from "node:assert/strict";
import { gaussianBlobs, gaussianBlobsDataset } from "../../src/data/generate.ts";
import { validateDataset } from "../../src/data/validate.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { histogram, throwsTyped } from "./helpers.ts";

Deno.test("gaussianBlobs: same seed, same data; another seed, other data", () => {
  const a = gaussianBlobs({ n: 257, d: 13, classes: 7, seed: 42 });
  const b = gaussianBlobs({ n: 257, d: 13, classes: 7, seed: 42 });
  const c = gaussianBlobs({ n: 257, d: 13, classes: 7, seed: 43 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.features, c.features);
  assert.notDeepEqual(a.centers, c.centers);
  assert.notDeepEqual(a.labels, c.labels);
  assert.equal(a.features.length, 257 * 13);
  assert.equal(a.centers.length, 7 * 13);
});

Deno.test("gaussianBlobs: balanced labels, samples around their centre, centres fixed as n grows", () => {
  const [n, d, classes, spread] = [3001, 16, 10, 0.5];
  const { features, labels, centers } = gaussianBlobs({ n, d, classes, seed: 1, spread });
  const counts = histogram(labels, classes);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `counts ${counts}`);
  // Mean squared distance to the own centre is spread² per coordinate (± a few percent at this n·d).
  let sq = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) sq += (features[i * d + j] - centers[labels[i] * d + j]) ** 2;
  }
  assert.ok(Math.abs(sq / (n * d) / spread ** 2 - 1) < 0.05, `variance ratio ${sq / (n * d) / spread ** 2}`);
  // Every sample is nearer its own centre than any other (centres ~4 apart per coordinate, spread 0.5).
  for (let i = 0; i < n; i++) {
    let best = -1, bestDist = Infinity;
    for (let c = 0; c < classes; c++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (features[i * d + j] - centers[c * d + j]) ** 2;
      if (dist < bestDist) [best, bestDist] = [c, dist];
    }
    assert.equal(best, labels[i], `sample ${i}`);
  }
  assert.deepEqual(gaussianBlobs({ n: 10, d, classes, seed: 1 }).centers, centers);
});

Deno.test("gaussianBlobs: edge sizes and invalid options", () => {
  const empty = gaussianBlobs({ n: 0, d: 1, classes: 1 });
  assert.deepEqual([empty.features.length, empty.labels.length], [0, 0]);
  const one = gaussianBlobs({ n: 1, d: 1, classes: 3, spread: 0 });
  assert.equal(one.features[0], one.centers[one.labels[0]]);
  throwsTyped(() => gaussianBlobs({ n: -1, d: 2, classes: 2 }), InvalidInputError, "n must be");
  throwsTyped(() => gaussianBlobs({ n: 5, d: 0, classes: 2 }), InvalidInputError, "d must be");
  throwsTyped(() => gaussianBlobs({ n: 5, d: 2, classes: 1.5 }), InvalidInputError, "classes must be");
  throwsTyped(() => gaussianBlobs({ n: 5, d: 2, classes: 2, spread: NaN }), InvalidInputError, "spread");
});

Deno.test("gaussianBlobsDataset: train is gaussianBlobs, test balanced from the same blobs", () => {
  const ds = gaussianBlobsDataset({ n: 100, nTest: 30, d: 4, classes: 3, seed: 9 });
  const { centers, ...train } = gaussianBlobs({ n: 100, d: 4, classes: 3, seed: 9 });
  assert.deepEqual(ds.train, train);
  assert.deepEqual(histogram(ds.test!.labels, 3), [10, 10, 10]);
  // Test samples sit around the same centres (spread 1, centres ~4 apart per coordinate).
  for (let i = 0; i < 30; i++) {
    const y = ds.test!.labels[i];
    let dist = 0;
    for (let j = 0; j < 4; j++) dist += (ds.test!.features[i * 4 + j] - centers[y * 4 + j]) ** 2;
    assert.ok(dist < 4 * 16, `test sample ${i} is ${Math.sqrt(dist)} from its centre`);
  }
  assert.deepEqual([ds.inputShape, ds.numClasses], [[4], 3]);
  assert.match(ds.source, /^generated:gaussian-blobs\?n=100&nTest=30&d=4&classes=3&seed=9/);
  const counts = validateDataset("blobs", ds);
  assert.equal(counts.train.reduce((a, b) => a + b), 100);
  assert.equal(gaussianBlobsDataset({ n: 5, d: 2, classes: 2 }).test, undefined);
});
