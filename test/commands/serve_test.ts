/**
 * `gradsift serve` as the README's first command runs it: a real process on the embedded database that
 * imports Fashion-MNIST on its first start, prints its URLs, answers GraphQL and /healthz, serves the
 * dashboard, and shuts down cleanly on SIGTERM; a second start finds the dataset and does not import it again.
 */
import assert from "node:assert/strict";
import { client, spawnGradsift } from "../scaleout/procs.ts";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const present = await Deno.stat(FMNIST).then(() => true, () => false);

Deno.test(
  "gradsift serve: first start imports Fashion-MNIST, serves GraphQL, /healthz and /, stops on SIGTERM",
  { ignore: !present, sanitizeOps: false, sanitizeResources: false },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "gradsift-serve-" });
    const env = { DATABASE_URL: "" };
    try {
      const first = await spawnGradsift(["serve", "--port", "0"], dir, env);
      const url = first.first;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      await first.waitFor(/dashboard at http:\/\/127\.0\.0\.1:\d+\//, 1000);
      await first.waitFor(/fashion-mnist imported/, 120_000);
      const gql = client(url);
      const r = await gql<{ datasets: { edges: { node: Record<string, unknown> }[] } }>(
        `{ datasets { edges { node { name status numTrain numTest numClasses inputShape } } } }`,
      );
      assert.deepEqual(r.data!.datasets.edges.map((e) => e.node), [{
        name: "fashion-mnist",
        status: "READY",
        numTrain: 60000,
        numTest: 10000,
        numClasses: 10,
        inputShape: [1, 28, 28],
      }]);
      const health = await (await fetch(url.replace(/graphql$/, "healthz"))).json();
      assert.equal(health.status, "ok");
      assert.equal(health.database, "pglite");
      const page = await fetch(url.replace(/graphql$/, ""));
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      await page.body?.cancel();
      assert.equal(await first.stop(), 0);
      assert.ok(first.lines.some((l) => /SIGTERM: shutting down/.test(l)), first.lines.join("\n"));

      const second = await spawnGradsift(["serve", "--port", "0"], dir, env);
      try {
        const again = await client(second.first)<{ datasets: { totalCount: number } }>(
          `{ datasets { totalCount } }`,
        );
        assert.equal(again.data!.datasets.totalCount, 1);
        assert.ok(!second.lines.some((l) => /importing Fashion-MNIST/.test(l)), "no second import");
      } finally {
        assert.equal(await second.stop(), 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
