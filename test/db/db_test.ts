/**
 * The migration applied to a fresh database, the member indexes a subset page relies on, and restart
 * recovery: a run left RUNNING by a crash is FAILED ("interrupted") once the server starts again.
 * On PGlite (a directory, reopened) by default; on PostgreSQL too when DATABASE_URL is set.
 */
import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { openDb } from "../../src/db/client.ts";
import { datasets, runs } from "../../src/db/schema.ts";
import { freshDb, testServer } from "../api/helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("migrations create every table and index on a fresh database", opts, async () => {
  const fresh = await freshDb();
  const h = await openDb(fresh.config);
  try {
    const tables = await h.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    const rows = Array.isArray(tables) ? tables : (tables as { rows: { table_name: string }[] }).rows;
    assert.deepEqual(rows.map((r) => r.table_name), [
      "datasets",
      "epoch_metrics",
      "runs",
      "subset_members",
      "subsets",
    ]);
    const idx = await h.db.execute<{ indexname: string }>(
      sql`select indexname from pg_indexes where tablename = 'subset_members' order by 1`,
    );
    const names = (Array.isArray(idx) ? idx : (idx as { rows: { indexname: string }[] }).rows).map((r) =>
      r.indexname
    );
    assert.deepEqual(names, [
      "subset_members_label_idx",
      "subset_members_label_weight_idx",
      "subset_members_subset_id_index_pk",
      "subset_members_weight_idx",
    ]);
  } finally {
    await h.close();
    await fresh.drop();
  }
});

Deno.test("restart recovery: runs found RUNNING become FAILED (interrupted)", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradsift-recovery-" });
  const fresh = await freshDb(`${dir}/pglite`);
  try {
    // The "crashed" process: a run left RUNNING, a dataset left IMPORTING.
    const h = await openDb(fresh.config);
    const [ds] = await h.db.insert(datasets).values({ name: "blobs-30-2-2-1", source: "t", status: "READY" })
      .returning();
    const [run] = await h.db.insert(runs).values({
      kind: "TRAINING",
      status: "RUNNING",
      datasetId: ds.id,
      strategy: "full",
      budget: "30",
      params: {},
      startedAt: new Date(),
    }).returning();
    await h.db.insert(datasets).values({ name: "half-imported", source: "t" });
    await h.close();

    const s = await testServer({ db: fresh.config, dataDir: dir });
    try {
      assert.equal(s.recovered, 1);
      const r = await s.gql<{ run: { status: string; error: string } }>(
        `query($id: ID!) { run(id: $id) { status error } }`,
        { id: btoa(`Run:${run.id}`).replace(/=+$/, "") },
      );
      assert.deepEqual(r.data!.run, { status: "FAILED", error: "interrupted" });
      const d = await s.gql<{ datasets: { edges: { node: { name: string; status: string } }[] } }>(
        `{ datasets { edges { node { name status } } } }`,
      );
      assert.deepEqual(d.data!.datasets.edges.map((e) => e.node), [
        { name: "blobs-30-2-2-1", status: "READY" },
        { name: "half-imported", status: "FAILED" },
      ]);
    } finally {
      await s.stop();
    }
  } finally {
    await fresh.drop();
    await Deno.remove(dir, { recursive: true });
  }
});
