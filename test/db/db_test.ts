/**
 * The migrations applied to a fresh database, and the member indexes a subset page relies on (restart
 * recovery: ./recovery_test.ts).
 * On PGlite (a directory, reopened) by default; on PostgreSQL too when DATABASE_URL is set.
 */
import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { openDb } from "../../src/db/client.ts";
import { freshDb } from "../api/helpers.ts";

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
      "dataset_chunks",
      "datasets",
      "epoch_metrics",
      "event_payloads",
      "run_checkpoints",
      "runs",
      "subset_members",
      "subsets",
      "workers",
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
