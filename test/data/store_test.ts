import assert from "node:assert/strict";
import { combinedChecksum, DatasetStore, defaultDataDir } from "../../src/data/store.ts";
import { gaussianBlobsDataset } from "../../src/data/generate.ts";
import {
  ChecksumMismatchError,
  DatasetExistsError,
  DatasetMismatchError,
  DatasetNotFoundError,
  MalformedFileError,
} from "../../src/data/errors.ts";
import type { DatasetInput } from "../../src/data/validate.ts";
import { rejectsTyped, tempDir } from "./helpers.ts";

const blobs = (seed = 3): DatasetInput => ({
  ...gaussianBlobsDataset({ n: 200, nTest: 50, d: 6, classes: 4, seed }),
  inputShape: [2, 3],
  classNames: ["a", "b", "c", "d"],
});

/** Every entry under the store root, recursively, as relative paths. */
function tree(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${root}/${dir}`)) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    out.push(rel, ...(e.isDirectory ? tree(root, rel) : []));
  }
  return out.sort();
}

Deno.test("DatasetStore: put/get round trip, meta, list, has, delete", async () => {
  await using dir = await tempDir();
  const store = new DatasetStore(dir.path);
  const input = blobs();
  const meta = await store.put("blobs-1", input);
  assert.deepEqual(tree(dir.path), [
    "datasets",
    "datasets/blobs-1",
    "datasets/blobs-1/meta.json",
    "datasets/blobs-1/test.features.f32",
    "datasets/blobs-1/test.labels.u32",
    "datasets/blobs-1/train.features.f32",
    "datasets/blobs-1/train.labels.u32",
  ]);
  assert.deepEqual(
    [meta.name, meta.inputShape, meta.numClasses, meta.numTrain, meta.numTest, meta.classNames],
    ["blobs-1", [2, 3], 4, 200, 50, ["a", "b", "c", "d"]],
  );
  assert.deepEqual(meta.classCounts, [50, 50, 50, 50]);
  assert.equal(meta.testClassCounts!.reduce((a, b) => a + b), 50);
  assert.equal(meta.source, input.source);
  assert.equal(meta.files["train.features.f32"].bytes, 200 * 6 * 4);
  assert.match(meta.checksum, /^[0-9a-f]{64}$/);
  assert.equal(meta.checksum, await combinedChecksum(meta.files));
  assert.ok(Math.abs(Date.parse(meta.createdAt) - Date.now()) < 60_000);

  const got = await store.get("blobs-1");
  assert.deepEqual(got.meta, meta);
  assert.deepEqual(got.train, input.train);
  assert.deepEqual(got.test, input.test);
  assert.deepEqual(await store.meta("blobs-1"), meta);
  assert.equal(await store.has("blobs-1"), true);
  assert.equal(await store.has("other"), false);

  // No test split: the test files are absent and `test` is null.
  await store.put("train-only", { ...input, test: undefined });
  const trainOnly = await store.get("train-only");
  assert.deepEqual([trainOnly.test, trainOnly.meta.numTest, trainOnly.meta.testClassCounts], [null, 0, null]);
  assert.deepEqual((await store.list()).map((m) => m.name), ["blobs-1", "train-only"]);

  assert.equal(await store.delete("blobs-1"), true);
  assert.equal(await store.delete("blobs-1"), false);
  assert.deepEqual((await store.list()).map((m) => m.name), ["train-only"]);
  await rejectsNotFound(store.get("blobs-1"));
});

async function rejectsNotFound(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e) => e instanceof DatasetNotFoundError && e.code === "NOT_FOUND");
}

Deno.test("DatasetStore: the checksum is the sha256 of the sorted sha256sum listing", async () => {
  await using dir = await tempDir();
  const meta = await new DatasetStore(dir.path).put("x", blobs());
  // What `sha256sum *.f32 *.u32 | sort -k2 | sha256sum` computes, done by hand here.
  const files = ["test.features.f32", "test.labels.u32", "train.features.f32", "train.labels.u32"];
  const hex = async (b: Uint8Array<ArrayBuffer>) =>
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", b)),
      (x) => x.toString(16).padStart(2, "0"),
    )
      .join("");
  let listing = "";
  for (const f of files) {
    listing += `${await hex(await Deno.readFile(`${dir.path}/datasets/x/${f}`))}  ${f}\n`;
  }
  assert.equal(meta.checksum, await hex(new TextEncoder().encode(listing)));
});

Deno.test("DatasetStore: a corrupted file is detected, naming it; sizes are checked even unverified", async () => {
  await using dir = await tempDir();
  const store = new DatasetStore(dir.path);
  await store.put("c", blobs());
  const path = `${dir.path}/datasets/c/train.labels.u32`;
  const bytes = await Deno.readFile(path);
  bytes[17] ^= 1;
  await Deno.writeFile(path, bytes);
  await rejectsTyped(store.get("c"), ChecksumMismatchError, path, "does not match");
  assert.ok((await store.get("c", { verify: false })).train.labels.length === 200);
  await Deno.writeFile(path, bytes.subarray(0, 12));
  await rejectsTyped(
    store.get("c", { verify: false }),
    MalformedFileError,
    path,
    "12 bytes, meta.json records 800",
  );
  const metaPath = `${dir.path}/datasets/c/meta.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  await Deno.writeTextFile(metaPath, JSON.stringify({ ...meta, numTest: 49 }));
  await rejectsTyped(store.get("c"), MalformedFileError, metaPath, "files.test.features.f32 disagrees");
  await Deno.writeTextFile(metaPath, "{ not json");
  await rejectsTyped(store.get("c"), MalformedFileError, "meta.json", "not valid JSON");
  await rejectsTyped(store.list(), MalformedFileError, "meta.json");
});

Deno.test("DatasetStore: each malformed input is a typed error and leaves nothing behind", async () => {
  await using dir = await tempDir();
  const store = new DatasetStore(dir.path);
  const good = blobs();
  const nanFeatures = good.train.features.slice();
  nanFeatures[6 * 17 + 4] = NaN;
  const infFeatures = good.test!.features.slice();
  infFeatures[0] = -Infinity;
  const badLabels = good.train.labels.slice();
  badLabels[123] = 4;
  const cases: [string, DatasetInput, string, string][] = [
    [
      "shape mismatch",
      { ...good, train: { ...good.train, labels: good.train.labels.slice(1) } },
      "x/train",
      "shape mismatch: 199 labels need 199 × 6 = 1194 feature values",
    ],
    [
      "shape mismatch vs inputShape",
      { ...good, inputShape: [7] },
      "x/train",
      "shape mismatch",
    ],
    [
      "NaN feature",
      { ...good, train: { ...good.train, features: nanFeatures } },
      "x/train",
      "features[106] (sample 17, element 4) is NaN",
    ],
    [
      "Inf feature in test",
      { ...good, test: { ...good.test!, features: infFeatures } },
      "x/test",
      "features[0] (sample 0, element 0) is -Infinity",
    ],
    [
      "label ≥ classes",
      { ...good, train: { ...good.train, labels: badLabels } },
      "x/train",
      "labels[123] is 4; labels must be < numClasses = 4",
    ],
    [
      "wrong array type",
      {
        ...good,
        train: { ...good.train, features: Float64Array.from(good.train.features) as unknown as Float32Array },
      },
      "x/train",
      "features must be a Float32Array, got Float64Array",
    ],
    ["classNames", { ...good, classNames: ["a"] }, "x", "classNames has 1 entries"],
    ["numClasses 0", { ...good, numClasses: 0 }, "x", "numClasses"],
    [
      "empty train",
      { ...good, train: { features: new Float32Array(0), labels: new Uint32Array(0) } },
      "x",
      "empty",
    ],
  ];
  for (const [what, input, where, problem] of cases) {
    await rejectsTyped(store.put("x", input), DatasetMismatchError, `dataset ${where}: `, problem);
    assert.deepEqual(tree(dir.path), [], what);
  }
  for (const name of ["", "../x", ".hidden", "a/b", "x".repeat(129)]) {
    await rejectsTyped(store.put(name, good), DatasetMismatchError, "invalid name");
  }
  assert.deepEqual(tree(dir.path), []);
});

Deno.test("DatasetStore: an existing name conflicts unless overwrite; overwrite replaces whole", async () => {
  await using dir = await tempDir();
  const store = new DatasetStore(dir.path);
  await store.put("d", blobs(1));
  await assert.rejects(
    store.put("d", blobs(2)),
    (e) => e instanceof DatasetExistsError && e.code === "CONFLICT",
  );
  assert.deepEqual((await store.get("d")).train, blobs(1).train);
  const replaced = await store.put("d", { ...blobs(2), test: undefined }, { overwrite: true });
  const got = await store.get("d");
  assert.deepEqual([got.train, got.test, got.meta], [blobs(2).train, null, replaced]);
  assert.deepEqual(tree(`${dir.path}/datasets`), [
    "d",
    "d/meta.json",
    "d/train.features.f32",
    "d/train.labels.u32",
  ]);
});

Deno.test("DatasetStore: root from GRADSIFT_DATA, else ./data; an empty store lists nothing", async () => {
  const saved = Deno.env.get("GRADSIFT_DATA");
  try {
    Deno.env.set("GRADSIFT_DATA", "/srv/gradsift/");
    assert.equal(new DatasetStore().root, "/srv/gradsift");
    Deno.env.delete("GRADSIFT_DATA");
    assert.equal(defaultDataDir(), "./data");
  } finally {
    if (saved === undefined) Deno.env.delete("GRADSIFT_DATA");
    else Deno.env.set("GRADSIFT_DATA", saved);
  }
  await using dir = await tempDir();
  assert.deepEqual(await new DatasetStore(`${dir.path}/nowhere`).list(), []);
  await rejectsNotFound(new DatasetStore(dir.path).meta("nope"));
});

Deno.test("DatasetStore: two puts of one name race; one wins, the other conflicts, no temp dir is left", async () => {
  await using dir = await tempDir();
  const store = new DatasetStore(dir.path);
  const results = await Promise.allSettled([store.put("r", blobs(1)), store.put("r", blobs(2))]);
  const won = results.filter((r) => r.status === "fulfilled");
  const lost = results.filter((r) => r.status === "rejected");
  assert.equal(won.length, 1);
  assert.ok(lost.every((r) => r.reason instanceof DatasetExistsError), String(lost[0]?.reason));
  // Both passed the up-front existence check: the loser was stopped by rename(2) itself.
  assert.ok(lost[0].reason.cause, "the race reached the rename");
  assert.deepEqual(tree(`${dir.path}/datasets`), [
    "r",
    "r/meta.json",
    "r/test.features.f32",
    "r/test.labels.u32",
    "r/train.features.f32",
    "r/train.labels.u32",
  ]);
  await store.get("r");
});
