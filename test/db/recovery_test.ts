/**
 * Recovery of runs across restarts, on the database the tests run on (PGlite in a directory, or a fresh
 * PostgreSQL database when DATABASE_URL is set):
 * - graceful shutdown hands a running run back to the queue; the next start resumes it from its
 *   checkpoint (in-process servers);
 * - a `gradsift serve` process killed with SIGKILL mid-run: the restarted service resumes the run from
 *   its last checkpoint once pg-boss sees the job's heartbeat stop (real processes);
 * - an import left IMPORTING by the embedded service is FAILED ("interrupted") at the next start.
 */
import assert from "node:assert/strict";
import { datasets } from "../../src/db/schema.ts";
import { openDb } from "../../src/db/client.ts";
import { freshDb, importReady, PG_URL, testServer } from "../api/helpers.ts";
import { client, pollRun, spawnGradsift, startTraining, waitEnded } from "../scaleout/procs.ts";
import { RUN_QUEUE } from "../../src/runs/service.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const DS = "blobs-600-16-3-5";
const training = (datasetId: string, epochs: number) => ({
  datasetId,
  strategy: "gradmatch",
  budget: "0.3",
  options: { epochs, hidden: [16], batchSize: 8, selectEvery: 2, warmEpochs: 1, seed: 3 },
});

/** Epochs are 1…n with nothing missing or repeated. */
function assertContiguous(epochs: { epoch: number }[], n: number) {
  assert.deepEqual(epochs.map((e) => e.epoch), Array.from({ length: n }, (_, i) => i + 1));
}

Deno.test(
  "graceful shutdown hands a running run back; the next start resumes it from its checkpoint",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "gradsift-handback-" });
    const fresh = await freshDb(`${dir}/pglite`);
    try {
      const a = await testServer({ db: fresh.config, dataDir: dir });
      const dsId = await importReady(a, DS);
      const runId = await startTraining(a.gql, training(dsId, 8));
      const atStop = await pollRun(a.gql, runId, (s) => s.epochs.length >= 2);
      await a.stop();
      const b = await testServer({ db: fresh.config, dataDir: dir });
      try {
        const handedBack = await pollRun(b.gql, runId, () => true);
        assert.ok(["QUEUED", "RUNNING", "SUCCEEDED"].includes(handedBack.status), handedBack.status);
        const done = await pollRun(b.gql, runId, (s) => s.status === "SUCCEEDED", 180_000);
        assert.equal(done.attempts, 2, "started once, resumed once");
        assertContiguous(done.epochs, 8);
        assert.ok(atStop.epochs.length >= 2);
        assert.notEqual(done.worker?.id, atStop.worker?.id, "the second server's worker finished it");
      } finally {
        await b.stop();
      }
    } finally {
      await fresh.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a serve process killed mid-run: the restarted service resumes the run from its checkpoint",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "gradsift-kill-" });
    const fresh = await freshDb(`${dir}/pglite`);
    const env: Record<string, string> = fresh.config.url ? { DATABASE_URL: fresh.config.url } : {};
    try {
      const first = await spawnGradsift(["serve", "--port", "0", "--no-import"], dir, env);
      const gql = client(first.first);
      let runId: string;
      try {
        const { importDataset } = await import("../scaleout/procs.ts");
        const dsId = await importDataset(gql, DS);
        runId = await startTraining(gql, training(dsId, 8));
        // Epoch 3 recorded means checkpoint 2 is stored (an epoch's record precedes its checkpoint).
        await pollRun(gql, runId, (s) => s.epochs.length >= 3);
      } finally {
        await first.kill();
      }
      // A dataset import cut off by the crash, as the next start finds it (embedded database only).
      if (!PG_URL) {
        const h = await openDb(fresh.config);
        await h.db.insert(datasets).values({ name: "half-imported", source: "t" });
        await h.close();
      }
      const second = await spawnGradsift(["serve", "--port", "0", "--no-import"], dir, env);
      try {
        const gql2 = client(second.first);
        const done = await waitEnded(gql2, runId, 180_000);
        assert.equal(done.status, "SUCCEEDED", done.error ?? "");
        assert.equal(done.attempts, 2);
        assertContiguous(done.epochs, 8);
        await second.waitFor(/resuming after epoch [2-7]\b/, 1000);
        if (!PG_URL) {
          const d = await gql2<
            { datasets: { edges: { node: { name: string; status: string; error: string } }[] } }
          >(
            `{ datasets { edges { node { name status error } } } }`,
          );
          assert.deepEqual(
            d.data!.datasets.edges.map((e) => e.node).find((n) => n.name === "half-imported"),
            {
              name: "half-imported",
              status: "FAILED",
              error: "interrupted",
            },
          );
        }
      } finally {
        assert.equal(await second.stop(), 0);
      }
    } finally {
      await fresh.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a run whose worker is lost more often than the queue retries is FAILED with the reason",
  opts,
  async () => {
    const queue = { heartbeatSeconds: 10, retryLimit: 0, superviseSeconds: 1, notify: true };
    const s = await testServer({ worker: false, queue });
    try {
      const dsId = await importReady(s, DS);
      const runId = await startTraining(s.gql, training(dsId, 2));
      // A worker that takes the job and dies at once: it claims the run and never heart-beats again.
      const [job] = await s.boss.fetch<{ runId: number }>(RUN_QUEUE);
      assert.ok(job, "the run's job is queued");
      await s.service.registerWorker({
        id: "doomed",
        host: "nowhere",
        pid: 1,
        adapter: "none",
        concurrency: 1,
        limits: {},
        version: "0",
      });
      assert.ok(await s.service.claim(job.data.runId, "doomed", 10));
      const done = await pollRun(s.gql, runId, (r) => r.status !== "RUNNING", 60_000);
      assert.equal(done.status, "FAILED");
      assert.match(done.error!, /^interrupted: its worker was lost 1 time\(s\) \(no heartbeat for 10 s\)$/);
    } finally {
      await s.stop();
    }
  },
);
