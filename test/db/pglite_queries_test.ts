/**
 * The PGlite client's cheaper `query` (src/db/client.ts): numeric parameters written into the SQL only
 * where that is safe, and drizzle reads through it giving what PostgreSQL's extended protocol gives —
 * rows, numbers, arrays, floats compared as `real`, timestamps as Dates.
 */
import assert from "node:assert/strict";
import { and, eq, gt, sql } from "drizzle-orm";
import { numericArguments, openDb } from "../../src/db/client.ts";
import { datasets, runs, subsetMembers, subsets } from "../../src/db/schema.ts";

Deno.test("numericArguments takes finite numbers and number arrays, and refuses anything else", () => {
  assert.deepEqual(
    numericArguments(`select 1 from "t" where "a" = $1 and "b" > $2 limit $3`, [7, -2.5, 101]),
    ["(7)", "(-2.5)", "(101)"],
  );
  assert.deepEqual(numericArguments(`select $1::real, $2::int[]`, [1e-7, [3, 1, 2]]), [
    "(1e-7)",
    "(ARRAY[3,1,2])",
  ]);
  // $10 is the tenth parameter, not the first followed by a 0.
  const ten = Array.from({ length: 10 }, (_, i) => i + 1);
  assert.deepEqual(numericArguments(`select $10, $1`, ten), ten.map((n) => `(${n})`));
  for (
    const [q, p] of [
      [`select $1`, ["text"]],
      [`select $1`, [null]],
      [`select $1`, [NaN]],
      [`select $1`, [Infinity]],
      [`select $1`, [[]]],
      [`select $1`, [[1, "2"]]],
      [`select $1`, [5n]],
      [`select 1`, [1]],
      [`select $1 where 'x$1' = 'x'`, [1]],
      [`select $1 -- $1`, [1]],
      [`select $1 /* $1 */`, [1]],
      [`select $1; drop table t`, [1]],
      [`select $$ $1 $$`, [1]],
      [`select $fn$ $1 $fn$`, [1]],
      [`select $2`, [1]],
    ] as [string, unknown[]][]
  ) {
    assert.equal(
      numericArguments(q, p),
      null,
      `${q} with ${JSON.stringify(p, (_k, v) => typeof v === "bigint" ? `${v}n` : v)}`,
    );
  }
});

Deno.test("drizzle on PGlite: numeric, array, real and timestamp values read back as on the ordinary path", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const h = await openDb({});
  try {
    const db = h.db;
    const [ds] = await db.insert(datasets).values({
      name: "q",
      source: "test",
      numTrain: 9,
      classCounts: [4, 5],
    })
      .returning();
    assert.ok(ds.createdAt instanceof Date && Math.abs(ds.createdAt.getTime() - Date.now()) < 60_000);
    assert.deepEqual(ds.classCounts, [4, 5]);
    const [run] = await db.insert(runs).values({
      kind: "SELECTION",
      datasetId: ds.id,
      strategy: "random",
      budget: "3",
      params: { a: 1 },
    }).returning();
    const [sub] = await db.insert(subsets).values({
      runId: run.id,
      round: 0,
      epoch: 0,
      size: 3,
      seconds: 0.25,
      classCounts: [1, 2],
    }).returning();
    const weights = [0.1, 1 / 3, 7.25];
    await db.insert(subsetMembers).values(
      weights.map((weight, i) => ({ subsetId: sub.id, index: i * 2, label: i, weight })),
    );

    // Numbers only: the simple-protocol path. The same SELECT with a text parameter takes the ordinary one.
    const q = db.select().from(runs).where(eq(runs.id, run.id));
    const { sql: text, params } = q.toSQL();
    assert.notEqual(numericArguments(text, params), null, "drizzle's SELECT by id takes the prepared path");
    const byId = await q;
    const byText = await db.select().from(runs).where(and(eq(runs.id, run.id), eq(runs.strategy, "random")));
    assert.deepEqual(byId, byText);
    assert.ok(byId[0].createdAt instanceof Date);
    assert.deepEqual(byId[0].params, { a: 1 });

    const members = await db.select().from(subsetMembers)
      .where(and(eq(subsetMembers.subsetId, sub.id), gt(subsetMembers.index, -1)))
      .orderBy(subsetMembers.index);
    assert.deepEqual(members.map((m) => m.index), [0, 2, 4]);
    // float4 comes back as float4 renders it, whichever path.
    const viaText = await h.pglite!.query<{ weight: number }>(
      `select weight from subset_members where subset_id = $1 and label >= $2::int order by index`,
      [String(sub.id), "0"],
    );
    assert.deepEqual(members.map((m) => m.weight), viaText.rows.map((r) => r.weight));
    // A JS number compared as real finds the row it came from (the keyset cursor of WEIGHT_DESC pages).
    for (const m of members) {
      const [hit] = await db.select().from(subsetMembers)
        .where(and(eq(subsetMembers.subsetId, sub.id), sql`${subsetMembers.weight} = ${m.weight}::real`));
      assert.equal(hit?.index, m.index);
    }
    // An array as one parameter (the batch loaders' `= any($1::int[])`).
    const any = await db.select({ id: subsets.id }).from(subsets)
      .where(sql`${subsets.id} = any(${sql.placeholder("ids")}::int[])`).prepare("t")
      .execute({ ids: [sub.id, sub.id + 1000] });
    assert.deepEqual(any, [{ id: sub.id }]);
  } finally {
    await h.close();
  }
});
