/**
 * Batch loaders (src/api/loaders.ts): list queries issue a fixed number of SQL statements whatever the
 * page size. The real server over HTTP, its drizzle statements counted through `DbConfig.onQuery`;
 * runs, epochs and subsets stored through the RunService (no training).
 */
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { datasets, runs } from "../../src/db/schema.ts";
import { toGlobalId } from "../../src/api/ids.ts";
import { freshDb, testServer } from "./helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Epoch e's metrics (made up: no training). */
const epochRow = (e: number) => ({
  epoch: e,
  trainLoss: 1 / e,
  testLoss: 1,
  testAccuracy: 0.5,
  seconds: 0.1,
  evalSeconds: 0,
  samples: 10,
  lr: 0.1,
  subsetSize: 10,
  selectionSeconds: 0,
  trainSeconds: 0.1 * e,
});

/** A random-strategy training run of dataset `datasetId` in `status`, inserted directly (no training). */
const runRow = (datasetId: number, status: "RUNNING" | "SUCCEEDED") => ({
  kind: "TRAINING" as const,
  datasetId,
  strategy: "random",
  budget: "10",
  params: { model: "mlp" },
  status,
});
const RUNS = 12;
const EPOCHS = 3;

const runsQuery = (first: number) =>
  `{
  runs(first: ${first}) {
    edges { node {
      id status
      dataset { id name }
      epochs { epoch trainLoss }
      subsets { id round size run { id dataset { name } } }
    } }
  }
}`;

type RunsData = {
  runs: {
    edges: {
      node: {
        id: string;
        dataset: { name: string };
        epochs: { epoch: number }[];
        subsets: { round: number; size: number; run: { id: string; dataset: { name: string } } }[];
      };
    }[];
  };
};

Deno.test("list queries: SQL statements do not grow with the page size", opts, async () => {
  const statements: string[] = [];
  const fresh = await freshDb();
  const s = await testServer({ db: { ...fresh.config, onQuery: (q) => statements.push(q) }, worker: false });
  try {
    const svc = s.service;
    const dsRows = await svc.db.insert(datasets).values([
      { name: "loaders-a", source: "test", numTrain: 50, numClasses: 2, status: "READY" },
      { name: "loaders-b", source: "test", numTrain: 50, numClasses: 2, status: "READY" },
    ]).returning();
    const labels = Uint32Array.from({ length: 50 }, (_, i) => i % 2);
    const made: { id: number; dataset: string; rounds: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      const ds = dsRows[r % 2];
      const [run] = await svc.db.insert(runs).values(runRow(ds.id, "RUNNING")).returning();
      const rounds = 1 + (r % 3);
      for (let k = 0; k < rounds; k++) {
        const indices = Uint32Array.from({ length: 10 }, (_, i) => (i * 5 + k + r) % 50);
        await svc.recordSubset(run.id, {
          indices,
          weights: new Float32Array(10).fill(1),
          round: k,
          epoch: k + 1,
          seconds: 0,
          classCounts: [5, 5],
        }, labels);
      }
      for (let e = 1; e <= EPOCHS; e++) {
        await svc.recordEpoch(run.id, epochRow(e), EPOCHS);
      }
      made.push({ id: run.id, dataset: ds.name, rounds });
    }

    const count = async (first: number) => {
      const before = statements.length;
      const r = await s.gql<RunsData>(runsQuery(first));
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      return { n: statements.length - before, data: r.data!, sql: statements.slice(before) };
    };
    const one = await count(1);
    const all = await count(RUNS);

    // The answers are right: newest first, each run with its own dataset, epochs and subsets.
    const expected = [...made].reverse();
    assert.equal(all.data.runs.edges.length, RUNS);
    all.data.runs.edges.forEach(({ node }, i) => {
      const m = expected[i];
      assert.equal(node.id, toGlobalId("Run", m.id));
      assert.equal(node.dataset.name, m.dataset);
      assert.deepEqual(node.epochs.map((e) => e.epoch), Array.from({ length: EPOCHS }, (_, e) => e + 1));
      assert.deepEqual(node.subsets.map((x) => x.round), Array.from({ length: m.rounds }, (_, k) => k));
      for (const sub of node.subsets) {
        assert.equal(sub.size, 10);
        assert.equal(sub.run.id, node.id);
        assert.equal(sub.run.dataset.name, m.dataset);
      }
    });
    assert.deepEqual(one.data.runs.edges[0], all.data.runs.edges[0]);

    // runs; then datasets, epochs, subsets (one batch each); then the subsets' runs; then their datasets.
    assert.equal(
      all.n,
      one.n,
      `page of 1: ${one.n} statements, page of ${RUNS}: ${all.n}\n${all.sql.join("\n")}`,
    );
    assert.ok(all.n <= 6, `${all.n} statements:\n${all.sql.join("\n")}`);

    // Several nodes in one query are read together too.
    const ids = made.map((m) => toGlobalId("Run", m.id));
    const before = statements.length;
    const nodes = await s.gql<Record<string, { id: string }>>(
      `query { ${
        ids.map((id, i) => `n${i}: node(id: "${id}") { id ... on Run { dataset { name } } }`).join(" ")
      } }`,
    );
    assert.equal(nodes.errors, undefined, JSON.stringify(nodes.errors));
    assert.deepEqual(Object.values(nodes.data!).map((n) => n.id), ids);
    assert.equal(statements.length - before, 2, statements.slice(before).join("\n"));
  } finally {
    await s.stop();
    await fresh.drop();
  }
});

Deno.test("Run.worker: one listing of the workers per page, whatever the page size", opts, async () => {
  const statements: string[] = [];
  const fresh = await freshDb();
  const s = await testServer({ db: { ...fresh.config, onQuery: (q) => statements.push(q) }, worker: false });
  try {
    const svc = s.service;
    const [ds] = await svc.db.insert(datasets).values(
      { name: "loaders-w", source: "test", numTrain: 50, numClasses: 2, status: "READY" },
    ).returning();
    for (const id of ["w-a", "w-b"]) {
      await svc.registerWorker({
        id,
        host: "h",
        pid: 1,
        adapter: "a",
        concurrency: 1,
        limits: {},
        version: "0",
      });
    }
    await svc.workerStopped("w-b");
    for (let r = 0; r < 6; r++) {
      await svc.db.insert(runs).values({
        ...runRow(ds.id, r % 2 ? "SUCCEEDED" : "RUNNING"),
        workerId: r % 2 ? "w-b" : "w-a",
      });
    }
    const page = async (first: number) => {
      const before = statements.length;
      const r = await s.gql<{ runs: { edges: { node: { worker: { id: string; state: string } } }[] } }>(
        `{ runs(first: ${first}) { edges { node { worker { id state } } } } }`,
      );
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      return { n: statements.length - before, workers: r.data!.runs.edges.map((e) => e.node.worker) };
    };
    const one = await page(1);
    const all = await page(6);
    // Newest first: runs 5, 3, 1 ran on w-b (stopped), 4, 2, 0 run on w-a.
    assert.deepEqual(all.workers.map((w) => `${w.id} ${w.state}`), [
      "w-b STOPPED",
      "w-a ALIVE",
      "w-b STOPPED",
      "w-a ALIVE",
      "w-b STOPPED",
      "w-a ALIVE",
    ]);
    assert.equal(all.n, one.n, `page of 1: ${one.n} statements, page of 6: ${all.n}\n`);
  } finally {
    await s.stop();
    await fresh.drop();
  }
});

Deno.test("runEvents: a live event's run is read once for all of its subscribers", opts, async () => {
  const SUBSCRIBERS = 6;
  const statements: string[] = [];
  const fresh = await freshDb();
  const s = await testServer({ db: { ...fresh.config, onQuery: (q) => statements.push(q) }, worker: false });
  const ws = createClient({ url: s.url.replace("http", "ws"), retryAttempts: 0, lazy: false });
  try {
    const svc = s.service;
    const [ds] = await svc.db.insert(datasets).values(
      { name: "loaders-ev", source: "test", numTrain: 50, numClasses: 2, status: "READY" },
    ).returning();
    const [run] = await svc.db.insert(runs).values(runRow(ds.id, "RUNNING")).returning();
    const query = `subscription($id: ID!) { runEvents(id: $id) { __typename
      ... on StatusChanged { status run { status } }
      ... on EpochCompleted { epoch { epoch } run { id status progress } } } }`;
    type Ev = { __typename: string; epoch?: { epoch: number }; run: { id?: string; status: string } };
    const received: Ev[][] = Array.from({ length: SUBSCRIBERS }, () => []);
    const waiters: (() => void)[] = [];
    const waitUntil = async (ok: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!ok()) {
        assert.ok(Date.now() < deadline, `timed out: ${JSON.stringify(received)}`);
        await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 20)));
      }
    };
    const streams = received.map(async (out) => {
      for await (const e of ws.iterate({ query, variables: { id: toGlobalId("Run", run.id) } })) {
        assert.equal(e.errors, undefined, JSON.stringify(e.errors));
        out.push((e.data as { runEvents: Ev }).runEvents);
        waiters.splice(0).forEach((w) => w());
      }
    });
    // Every subscriber has its snapshot (the current status); from here on only live events arrive.
    await waitUntil(() => received.every((r) => r.length === 1));
    const before = statements.length;
    await svc.recordEpoch(run.id, epochRow(1), 4);
    await waitUntil(() => received.every((r) => r.length === 2));
    for (const r of received) {
      assert.equal(r[1].__typename, "EpochCompleted");
      assert.equal(r[1].epoch!.epoch, 1);
      assert.equal(r[1].run.id, toGlobalId("Run", run.id));
      assert.equal(r[1].run.status, "RUNNING");
    }
    const runReads = statements.slice(before).filter((q) => /^select .* from "runs" where/i.test(q));
    assert.equal(runReads.length, 1, `${SUBSCRIBERS} subscribers:\n${runReads.join("\n")}`);
    assert.ok(await svc.finish(run.id, ["RUNNING"], "SUCCEEDED", null));
    await Promise.all(streams);
    for (const r of received) {
      assert.deepEqual(r.at(-1), {
        __typename: "StatusChanged",
        status: "SUCCEEDED",
        run: { status: "SUCCEEDED" },
      });
    }
  } finally {
    await ws.dispose();
    await s.stop();
    await fresh.drop();
  }
});
