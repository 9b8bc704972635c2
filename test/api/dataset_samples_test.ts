/**
 * `Dataset.samples` over HTTP on the real server: pages by index and by class, lists of indices, the
 * images against the stored features, one batched read per page, and its typed errors.
 */
import assert from "node:assert/strict";
import { DatasetStore } from "../../src/data/store.ts";
import { putFashionSlice } from "./fashion_slice.ts";
import { importReady, testServer } from "./helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const N = 300;

type Sample = { index: number; label: number; image?: { width: number; height: number; pixels: string } };
type Conn = {
  totalCount: number;
  edges: { cursor: string; node: Sample }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
};
type Errors = { message: string; extensions?: { code?: string } }[] | undefined;
const codes = (e: Errors) => (e ?? []).map((x) => x.extensions?.code);

const Q = `query($id: ID!, $first: Int, $after: String, $label: Int, $indices: [Int!]) {
  dataset(id: $id) { classNames samples(first: $first, after: $after, label: $label, indices: $indices) {
    totalCount edges { cursor node { index label image { width height pixels } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } } }`;

Deno.test("Dataset.samples: thumbnails from the store, paged and filtered", opts, async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "gradsift-samples-" });
  await putFashionSlice(dataDir, N, 50);
  const s = await testServer({ dataDir, worker: false });
  try {
    const id = await importReady(s, "fashion-mnist");
    const stored = await new DatasetStore(dataDir).get("fashion-mnist", { verify: false });
    const page = async (vars: Record<string, unknown>) => {
      const r = await s.gql<{ dataset: { classNames: string[]; samples: Conn } }>(Q, { id, ...vars });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      return r.data!.dataset;
    };

    await t.step("pages by index; images are round(255 x) of the stored features", async () => {
      const seen: Sample[] = [];
      let after: string | null = null;
      for (let i = 0; i < 10; i++) {
        const d = await page({ first: 128, after });
        assert.equal(d.samples.totalCount, N);
        assert.equal(d.samples.pageInfo.hasPreviousPage, after !== null);
        seen.push(...d.samples.edges.map((e) => e.node));
        if (!d.samples.pageInfo.hasNextPage) break;
        after = d.samples.pageInfo.endCursor;
      }
      assert.deepEqual(seen.map((x) => x.index), Array.from({ length: N }, (_, i) => i));
      assert.deepEqual(seen.map((x) => x.label), [...stored.train.labels]);
      for (const x of [seen[0], seen[137], seen[N - 1]]) {
        assert.equal(x.image!.width, 28);
        assert.equal(x.image!.height, 28);
        const bytes = Uint8Array.from(atob(x.image!.pixels), (c) => c.charCodeAt(0));
        const want = stored.train.features.subarray(x.index * 784, (x.index + 1) * 784);
        assert.deepEqual([...bytes], [...want].map((v) => Math.round(v * 255)), `sample ${x.index}`);
      }
      const d = await page({ first: 1 });
      assert.deepEqual(d.classNames.slice(0, 2), ["T-shirt/top", "Trouser"]);
    });

    await t.step("label filter pages through one class", async () => {
      const want = [...stored.train.labels.keys()].filter((i) => stored.train.labels[i] === 3);
      const a = await page({ first: 10, label: 3 });
      assert.equal(a.samples.totalCount, want.length);
      const b = await page({ first: 500, label: 3, after: a.samples.pageInfo.endCursor });
      const got = [...a.samples.edges, ...b.samples.edges].map((e) => e.node);
      assert.deepEqual(got.map((x) => x.index), want);
      assert.ok(got.every((x) => x.label === 3));
      assert.equal(b.samples.pageInfo.hasNextPage, false);
    });

    await t.step("indices: in the order given, each with its own image", async () => {
      const indices = [250, 3, 3, 99, 0];
      const d = await page({ indices, first: 500 });
      assert.deepEqual(d.samples.edges.map((e) => e.node.index), [250, 3, 99, 0]);
      const img = (k: number) => d.samples.edges[k].node.image!.pixels;
      const again = await page({ indices: [99], first: 1 });
      assert.equal(again.samples.edges[0].node.image!.pixels, img(2));
      assert.notEqual(img(0), img(1));
    });

    await t.step("typed errors: page size, labels, indices, cursors", async () => {
      const bad = async (vars: Record<string, unknown>, re: RegExp) => {
        const r = await s.gql(Q, { id, ...vars });
        assert.deepEqual(codes(r.errors), ["BAD_USER_INPUT"], JSON.stringify(vars));
        assert.match(r.errors![0].message, re);
      };
      await bad({ first: 501 }, /first must be between 0 and 500/);
      await bad({ label: 10 }, /label must be between 0 and 9/);
      await bad({ indices: [N] }, /sample index 300 is outside 0 … 299/);
      await bad({ indices: Array.from({ length: 501 }, (_, i) => i % N) }, /at most 500/);
      await bad({ after: "nonsense" }, /not a cursor/);
    });
  } finally {
    await s.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
