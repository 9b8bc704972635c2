/**
 * The real server on a free port with real clients: HTTP queries and mutations, pagination, errors and
 * their codes, a training run watched over graphql-ws and SSE to its end, a selection run,
 * cancellation mid-run, deletion, limits. One server for the whole file (start-up costs seconds).
 */
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { eq } from "drizzle-orm";
import { datasets } from "../../src/db/schema.ts";
import { importReady, testServer, waitForRun } from "./helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const DS = "blobs-300-8-3-1";
const small = { epochs: 3, hidden: [16], batchSize: 32, selectEvery: 1, seed: 1 };

type Errors = { message: string; extensions?: { code?: string } }[] | undefined;
const codes = (e: Errors) => (e ?? []).map((x) => x.extensions?.code);

Deno.test("GraphQL service end to end", opts, async (t) => {
  const s = await testServer();
  try {
    const dsId = await importReady(s, DS);
    const start = (kind: "startTraining" | "startSelection", input: Record<string, unknown>) =>
      s.gql<Record<string, { run: { id: string; status: string } }>>(
        `mutation($i: ${kind === "startTraining" ? "StartTrainingInput" : "StartSelectionInput"}!) {
          ${kind}(input: $i) { run { id status kind } } }`,
        { i: { datasetId: dsId, ...input } },
      );

    await t.step("datasets: query, connection, node, re-import is a CONFLICT", async () => {
      const r = await s.gql<{ datasets: { totalCount: number; edges: { node: Record<string, unknown> }[] } }>(
        `{ datasets(first: 10) { totalCount edges { node { id name status numTrain numTest numClasses inputShape classCounts } } } }`,
      );
      assert.equal(r.data!.datasets.totalCount, 1);
      assert.deepEqual(r.data!.datasets.edges[0].node, {
        id: dsId,
        name: DS,
        status: "READY",
        numTrain: 300,
        numTest: 60,
        numClasses: 3,
        inputShape: [8],
        classCounts: r.data!.datasets.edges[0].node.classCounts,
      });
      const n = await s.gql<{ node: { __typename: string; name: string } }>(
        `query($id: ID!) { node(id: $id) { __typename ... on Dataset { name } } }`,
        { id: dsId },
      );
      assert.deepEqual(n.data!.node, { __typename: "Dataset", name: DS });
      const again = await s.gql(`mutation { importDataset(input: { name: "${DS}" }) { dataset { id } } }`);
      assert.deepEqual(codes(again.errors), ["CONFLICT"]);
      const unknown = await s.gql(
        `mutation { importDataset(input: { name: "imagenet" }) { dataset { id } } }`,
      );
      assert.deepEqual(codes(unknown.errors), ["BAD_USER_INPUT"]);
    });

    await t.step("errors carry extensions.code", async () => {
      const notFound = await s.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: btoa("Run:999") });
      assert.deepEqual(codes(notFound.errors), ["NOT_FOUND"]);
      assert.deepEqual(codes((await s.gql(`{ run(id: "garbage") { id } }`)).errors), ["BAD_USER_INPUT"]);
      const badBudget = await start("startTraining", { strategy: "random", budget: "301", options: small });
      assert.deepEqual(codes(badBudget.errors), ["BAD_USER_INPUT"]);
      assert.match(badBudget.errors![0].message, /exceeds the 300 samples/);
      const badStrategy = await start("startTraining", { strategy: "kmeans", budget: "0.1" });
      assert.deepEqual(codes(badStrategy.errors), ["BAD_USER_INPUT"]);
      assert.match(badStrategy.errors![0].message, /unknown strategy "kmeans": use one of full, random/);
      const crestSelection = await start("startSelection", { strategy: "crest", budget: "0.1" });
      assert.deepEqual(codes(crestSelection.errors), ["BAD_USER_INPUT"]);
      const bigPage = await s.gql(`{ runs(first: 501) { totalCount } }`);
      assert.deepEqual(codes(bigPage.errors), ["BAD_USER_INPUT"]);
      const typo = await s.gql(`{ runz }`);
      assert.equal(codes(typo.errors).length, 1);
      assert.ok(codes(typo.errors)[0], "validation errors have a code too");
      const deep = await s.gql(
        `{ runs(first: 10) { edges { node { dataset { id } subsets { samples { edges { node { index } } } } } } } }`,
      );
      assert.equal(deep.errors, undefined, "a normal query passes the limits");
      const tooDeep = await s.gql(
        `{ a: node(id: "x") { ... on Run { subsets { samples { edges { node { index } } } } dataset { id } epochs { epoch } ` +
          `} } ${"b: runs(first: 500) { edges { node { subsets { samples(first: 500) { edges { node { index } } } } } } }"} }`,
      );
      assert.deepEqual(codes(tooDeep.errors), ["BAD_USER_INPUT"], "cost limit");
      const big = await fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ __typename }`, pad: "x".repeat(2 << 20) }),
      });
      assert.equal(big.status, 413);
      await big.body?.cancel();
      // A dataset still importing cannot be trained on.
      const [importing] = await s.service.db.insert(datasets).values({ name: "slow", source: "test" })
        .returning();
      const early = await s.gql(
        `mutation($i: StartTrainingInput!) { startTraining(input: $i) { run { id } } }`,
        { i: { datasetId: btoa(`Dataset:${importing.id}`).replace(/=+$/, ""), strategy: "full" } },
      );
      assert.deepEqual(codes(early.errors), ["CONFLICT"]);
      await s.service.db.delete(datasets).where(eq(datasets.id, importing.id));
    });

    let trainedId = "";
    await t.step("a training run streams its events over graphql-ws and SSE to the end", async () => {
      const r = await start("startTraining", { strategy: "gradmatch", budget: "0.3", options: small });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      const id = r.data!.startTraining.run.id;
      trainedId = id;
      const query = `subscription($id: ID!) { runEvents(id: $id) { __typename
        ... on StatusChanged { status } ... on EpochCompleted { epoch { epoch trainLoss subsetSize } }
        ... on SubsetSelected { subset { round epoch size } } } }`;
      const ws = createClient({ url: s.url.replace("http", "ws"), retryAttempts: 0 });
      const wsEvents = (async () => {
        const out: Record<string, unknown>[] = [];
        for await (const e of ws.iterate({ query, variables: { id } })) {
          out.push((e.data as { runEvents: Record<string, unknown> }).runEvents);
        }
        return out;
      })();
      const sse = await fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query, variables: { id } }),
      });
      const sseText = await sse.text();
      const viaWs = await wsEvents;
      await ws.dispose();
      const viaSse = sseText.split("\n").filter((l) => l.startsWith("data: ")).map((l) =>
        JSON.parse(l.slice(6)).data?.runEvents
      ).filter(Boolean);
      assert.match(sseText, /event: complete/);
      for (const events of [viaWs, viaSse]) {
        const epochs = events.filter((e) => e.__typename === "EpochCompleted").map((e) =>
          (e.epoch as { epoch: number }).epoch
        );
        assert.deepEqual(epochs, [1, 2, 3]);
        assert.equal(events.filter((e) => e.__typename === "SubsetSelected").length, 3);
        assert.equal(events[0].__typename, "StatusChanged", "the current state comes first");
        assert.deepEqual(events.at(-1), { __typename: "StatusChanged", status: "SUCCEEDED" });
      }
      const run = await s.gql<{ run: Record<string, unknown> }>(
        `query($id: ID!) { run(id: $id) { status progress strategy budget model startedAt finishedAt
          timings { trainSeconds wallSeconds } epochs { epoch } subsets { size classCounts } dataset { name } } }`,
        { id },
      );
      const got = run.data!.run;
      assert.equal(got.status, "SUCCEEDED");
      assert.equal(got.progress, 1);
      assert.equal((got.epochs as unknown[]).length, 3);
      assert.deepEqual((got.subsets as { size: number }[]).map((x) => x.size), [90, 90, 90]);
      assert.deepEqual(got.dataset, { name: DS });
    });

    await t.step("subset samples: pages by index, by weight, by label", async () => {
      const q =
        `query($id: ID!, $after: String, $label: Int, $order: SubsetSampleOrder) { run(id: $id) { subsets {
        samples(first: 25, after: $after, label: $label, orderBy: $order) {
          edges { cursor node { index label weight } } pageInfo { hasNextPage endCursor } } } } }`;
      type Edge = { node: { index: number; label: number; weight: number } };
      type Conn = { edges: Edge[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      const all = async (order: string, label: number | null) => {
        const out: Edge["node"][] = [];
        let after: string | null = null;
        for (let i = 0; i < 10; i++) {
          const r: { data?: { run: { subsets: { samples: Conn }[] } } } = await s.gql(q, {
            id: trainedId,
            after,
            label,
            order,
          });
          const c: Conn = r.data!.run.subsets[0].samples;
          out.push(...c.edges.map((e) => e.node));
          if (!c.pageInfo.hasNextPage) break;
          after = c.pageInfo.endCursor;
        }
        return out;
      };
      const byIndex = await all("INDEX", null);
      assert.equal(byIndex.length, 90);
      assert.deepEqual(byIndex.map((m) => m.index), byIndex.map((m) => m.index).toSorted((a, b) => a - b));
      const byWeight = await all("WEIGHT_DESC", null);
      assert.equal(byWeight.length, 90);
      assert.deepEqual(new Set(byWeight.map((m) => m.index)), new Set(byIndex.map((m) => m.index)));
      for (let i = 1; i < 90; i++) assert.ok(byWeight[i - 1].weight >= byWeight[i].weight);
      const label1 = await all("WEIGHT_DESC", 1);
      assert.deepEqual(label1, byWeight.filter((m) => m.label === 1));
    });

    await t.step("a selection run stores one subset", async () => {
      const r = await start("startSelection", { strategy: "craig", budget: "30", options: { hidden: [16] } });
      const id = r.data!.startSelection.run.id;
      assert.equal((await waitForRun(s, id, ["SUCCEEDED", "FAILED"])).status, "SUCCEEDED");
      const q = await s.gql<
        {
          run: { kind: string; epochs: unknown[]; subsets: { round: number; epoch: number; size: number }[] };
        }
      >(
        `query($id: ID!) { run(id: $id) { kind epochs { epoch } subsets { round epoch size } } }`,
        { id },
      );
      assert.deepEqual(q.data!.run, {
        kind: "SELECTION",
        epochs: [],
        subsets: [{ round: 0, epoch: 0, size: 30 }],
      });
    });

    await t.step("cancellation mid-run; runs(filter); deleteRun", async () => {
      const r = await start("startTraining", {
        strategy: "full",
        options: { ...small, epochs: 200, batchSize: 8 },
      });
      const id = r.data!.startTraining.run.id;
      await waitForRun(s, id, ["RUNNING"]);
      const c = await s.gql<{ cancelRun: { run: { status: string } } }>(
        `mutation($id: ID!) { cancelRun(id: $id) { run { status } } }`,
        { id },
      );
      assert.equal(c.data!.cancelRun.run.status, "CANCELLED");
      const again = await s.gql(`mutation($id: ID!) { cancelRun(id: $id) { run { status } } }`, { id });
      assert.deepEqual(codes(again.errors), ["CONFLICT"], "a cancelled run cannot be cancelled");
      const f = await s.gql<{ runs: { totalCount: number; edges: { node: { id: string } }[] } }>(
        `{ runs(filter: { status: [CANCELLED] }) { totalCount edges { node { id } } } }`,
      );
      assert.deepEqual(f.data!.runs.edges.map((e) => e.node.id), [id]);
      const page1 = await s.gql<
        { runs: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string } } }
      >(
        `{ runs(first: 2) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      );
      assert.deepEqual(page1.data!.runs.edges.map((e) => e.node.id)[0], id, "newest first");
      const page2 = await s.gql<
        { runs: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean } } }
      >(
        `query($a: String) { runs(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }`,
        { a: page1.data!.runs.pageInfo.endCursor },
      );
      assert.deepEqual(page2.data!.runs.edges.map((e) => e.node.id), [trainedId]);
      assert.equal(page2.data!.runs.pageInfo.hasNextPage, false);
      const d = await s.gql(`mutation($id: ID!) { deleteRun(id: $id) { deletedId } }`, { id });
      assert.equal(d.errors, undefined);
      const gone = await s.gql(`query($id: ID!) { run(id: $id) { id } }`, { id });
      assert.deepEqual(codes(gone.errors), ["NOT_FOUND"]);
    });

    await t.step("healthz and GraphiQL from local assets", async () => {
      const h = await fetch(new URL("/healthz", s.url));
      assert.equal((await h.json()).status, "ok");
      const g = await fetch(s.url, { headers: { accept: "text/html" } });
      const html = await g.text();
      assert.equal(g.status, 200);
      assert.ok(!/unpkg\.com|jsdelivr/.test(html), "no CDN references");
    });
  } finally {
    await s.stop();
  }
});
