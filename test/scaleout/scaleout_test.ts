/**
 * Scale-out on a real PostgreSQL (runs when DATABASE_URL is set, as in .ci/run's second pass): one
 * API-only process (`serve --no-worker`) and two `gradsift worker` processes, each with a data
 * directory of its own (the workers get the dataset from the database), and — where the test may create
 * them (root) — a network namespace of its own, reaching PostgreSQL only over a veth link. Several queued runs → both
 * workers take runs and all finish; a graphql-ws subscriber on the API process sees every event of a
 * run executed by a worker; a worker killed with SIGKILL mid-run → the run is resumed from its
 * checkpoint by the other worker; connections cut by the database → every process reconnects.
 */
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { freshDb, PG_URL } from "../api/helpers.ts";
import {
  client,
  importDataset,
  pollRun,
  type Proc,
  spawnGradsift,
  startTraining,
  waitEnded,
} from "./procs.ts";
import { available, createNetns, type Netns } from "./netns.ts";

const opts = { ignore: !PG_URL, sanitizeOps: false, sanitizeResources: false };
const DS = "blobs-600-16-3-7";
const run = (datasetId: string, epochs: number, seed: number) => ({
  datasetId,
  strategy: "craig",
  budget: "0.3",
  options: { epochs, hidden: [16], batchSize: 8, selectEvery: 2, warmEpochs: 1, seed },
});

Deno.test(
  "one API process and two workers on PostgreSQL: runs spread, events cross, a killed worker's run resumes",
  opts,
  async (t) => {
    const fresh = await freshDb();
    const env = { DATABASE_URL: fresh.config.url! };
    const dirs = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir({ prefix: "gradsift-scale-" })));
    const procs: Proc[] = [];
    const namespaces: Netns[] = [];
    try {
      const api = await spawnGradsift(["serve", "--port", "0", "--no-worker", "--no-import"], dirs[0], env);
      procs.push(api);
      const gql = client(api.first);
      const dsId = await importDataset(gql, DS);
      // Each worker in a network namespace of its own where possible: it reaches PostgreSQL through its
      // veth link only, so nothing rides on the host's loopback.
      const pg = new URL(fresh.config.url!);
      const confined = await available();
      const workers = await Promise.all([1, 2].map(async (i) => {
        if (!confined) return await spawnGradsift(["worker"], dirs[i], env);
        // Link addresses from the pid, so concurrent test runs on one host do not collide.
        const ns = await createNetns((Deno.pid % 120) * 2 + i, {
          port: Number(pg.port),
          target: { hostname: pg.hostname, port: Number(pg.port) },
        });
        namespaces.push(ns);
        const url = new URL(pg);
        url.hostname = ns.hostAddress;
        return await spawnGradsift(["worker"], dirs[i], { DATABASE_URL: url.toString() }, ns.exec);
      }));
      procs.push(...workers);
      if (!confined) {
        console.error("scale-out test: network namespaces unavailable; workers share the host network");
      }

      await t.step({
        name: "confined workers cannot reach the host's loopback",
        ignore: !confined,
        fn: async () => {
          for (const ns of namespaces) {
            const probe = await new Deno.Command("ip", {
              args: ["netns", "exec", ns.name, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${pg.port}`],
              stderr: "null",
            }).output();
            assert.equal(probe.success, false, `${ns.name} reached 127.0.0.1:${pg.port}`);
          }
        },
      });

      await t.step("workers register and show up ALIVE", async () => {
        const r = await gql<
          { workers: { id: string; state: string; host: string; adapter: string; version: string }[] }
        >(
          `{ workers { id state host adapter version } }`,
        );
        const ids = r.data!.workers.map((w) => w.id).sort();
        assert.deepEqual(ids, workers.map((w) => w.first).sort());
        for (const w of r.data!.workers) {
          assert.equal(w.state, "ALIVE");
          assert.ok(w.adapter.length > 0 && w.host.length > 0 && w.version.length > 0);
        }
      });

      await t.step(
        "queued runs spread over both workers; a subscriber on the API process sees every event",
        async () => {
          const ids = [];
          for (let i = 0; i < 4; i++) ids.push(await startTraining(gql, run(dsId, 3, i + 1)));
          const query = `subscription($id: ID!) { runEvents(id: $id) { __typename
        ... on StatusChanged { status } ... on EpochCompleted { epoch { epoch } } ... on SubsetSelected { subset { round } } } }`;
          const ws = createClient({ url: api.first.replace("http", "ws"), retryAttempts: 0 });
          const events: Record<string, unknown>[] = [];
          for await (const e of ws.iterate({ query, variables: { id: ids[3] } })) {
            events.push((e.data as { runEvents: Record<string, unknown> }).runEvents);
          }
          await ws.dispose();
          const states = await Promise.all(
            ids.map((id) => pollRun(gql, id, (s) => s.status === "SUCCEEDED", 120_000)),
          );
          const used = new Set(states.map((s) => s.worker!.id));
          assert.equal(used.size, 2, "both workers took runs");
          const epochs = events.filter((e) => e.__typename === "EpochCompleted").map((e) =>
            (e.epoch as { epoch: number }).epoch
          );
          assert.deepEqual(epochs, [1, 2, 3], "every epoch, in order");
          assert.equal(events.filter((e) => e.__typename === "SubsetSelected").length, 1);
          assert.deepEqual(events.at(-1), { __typename: "StatusChanged", status: "SUCCEEDED" });
          // Each worker fetched the dataset from the database into its own directory.
          for (const i of [1, 2]) {
            const meta = JSON.parse(await Deno.readTextFile(`${dirs[i]}/datasets/${DS}/meta.json`));
            assert.equal(meta.name, DS);
          }
        },
      );

      let alive = workers[0];
      await t.step(
        "kill -9 of a worker mid-run: the other worker resumes the run from its checkpoint",
        async () => {
          const id = await startTraining(gql, run(dsId, 10, 9));
          // Epoch 3 recorded means checkpoint 2 is stored (an epoch's record precedes its checkpoint).
          const mid = await pollRun(gql, id, (s) => s.status === "RUNNING" && s.epochs.length >= 3, 120_000);
          const victim = workers.find((w) => w.first === mid.worker!.id)!;
          const survivor = workers.find((w) => w !== victim)!;
          alive = survivor;
          await victim.kill();
          const done = await waitEnded(gql, id, 120_000);
          assert.equal(done.status, "SUCCEEDED", done.error ?? "");
          assert.equal(done.worker!.id, survivor.first);
          assert.equal(done.attempts, 2);
          assert.deepEqual(done.epochs.map((e) => e.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          await survivor.waitFor(/resuming after epoch [2-9]\b/, 1000);
          const r = await gql<{ workers: { id: string; state: string }[] }>(`{ workers { id state } }`);
          assert.equal(r.data!.workers.find((w) => w.id === victim.first)!.state, "LOST");
        },
      );

      await t.step(
        "connections cut by the database: the API and the worker reconnect and go on",
        async () => {
          const { default: postgres } = await import("postgres");
          const admin = postgres(fresh.config.url!, { max: 1, onnotice: () => {} });
          try {
            await admin`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`;
          } finally {
            await admin.end();
          }
          await new Promise((r) => setTimeout(r, 1000));
          let id = "";
          for (let i = 0; i < 20 && !id; i++) {
            // The API's first query after the cut may meet a dead pooled connection: retry the request.
            id = await startTraining(gql, run(dsId, 2, 11)).catch(() => "");
            if (!id) await new Promise((r) => setTimeout(r, 500));
          }
          assert.ok(id, "the API took a run after the cut");
          const done = await waitEnded(gql, id, 120_000);
          assert.equal(done.status, "SUCCEEDED", done.error ?? "");
        },
      );

      await t.step(
        "cancelling on the API process stops the run on its worker within a heartbeat",
        async () => {
          const id = await startTraining(gql, run(dsId, 30, 13));
          await pollRun(gql, id, (s) => s.status === "RUNNING" && s.epochs.length >= 1, 120_000);
          const r = await gql<{ cancelRun: { run: { status: string } } }>(
            `mutation($id: ID!) { cancelRun(id: $id) { run { status } } }`,
            { id },
          );
          assert.equal(r.data?.cancelRun.run.status, "CANCELLED", JSON.stringify(r.errors));
          await alive.waitFor(/no longer ours \(cancelled or taken over elsewhere\); dropped/, 10_000);
          const after = await pollRun(gql, id, () => true);
          await new Promise((r) => setTimeout(r, 1500));
          const later = await pollRun(gql, id, () => true);
          assert.equal(later.status, "CANCELLED");
          assert.equal(
            later.epochs.length,
            after.epochs.length,
            "no epoch recorded after the worker dropped it",
          );
        },
      );

      await t.step("graceful stop of a worker marks it STOPPED", async () => {
        assert.equal(await alive.stop(), 0);
        const r = await gql<{ workers: { id: string; state: string }[] }>(`{ workers { id state } }`);
        assert.equal(r.data!.workers.find((w) => w.id === alive.first)!.state, "STOPPED");
      });
    } finally {
      for (const p of procs) await p.kill();
      for (const ns of namespaces) await ns.close();
      await fresh.drop();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
);
