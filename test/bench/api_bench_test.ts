/**
 * Smoke test of the API benchmark (bench/api.ts) at tiny sizes: the real server, autocannon and the
 * subscriber clients in their own processes. What must hold is what makes the figures meaningful — every
 * page the load replays was checked against the service, no request failed, every subscriber got every
 * event in order. Nothing is held to the targets here: 1-second runs on a shared machine say nothing.
 * On PGlite, and on PostgreSQL too when DATABASE_URL is set.
 */
import assert from "node:assert/strict";
import { type ApiBenchOptions, formatReport, runApiBench, TINY } from "../../bench/api.ts";

const PG_URL = Deno.env.get("DATABASE_URL");

Deno.test("bench api: tiny run — pages served without errors, every subscriber gets every event in order", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const o: ApiBenchOptions = {
    ...TINY,
    dbs: PG_URL ? ["pglite", "postgres"] : ["pglite"],
    pgUrl: PG_URL,
    log: () => {},
  };
  const r = await runApiBench(o);
  // 300 members: 15 pages of 20 in each order, and each class's pages in both orders.
  assert.ok(r.pages >= 2 * 15 + 2 * 10, `${r.pages} pages`);
  assert.equal(r.load.length, 4 * o.dbs.length);
  for (const l of r.load) {
    assert.ok(l.requests > 0, `${l.db} ${l.case}: no requests`);
    assert.equal(
      l.errors + l.timeouts + l.non2xx + l.graphqlErrors,
      0,
      `${l.db} ${l.case}: ${JSON.stringify(l)}`,
    );
    assert.ok(l.p50 <= l.p99 && l.p99 <= l.max, `${l.db} ${l.case}: percentiles out of order`);
  }
  assert.equal(r.subscribers.length, o.dbs.length);
  for (const s of r.subscribers) {
    assert.equal(s.inOrder, o.subscribers, s.failures.join("\n"));
    // 4 epochs, a subset before the first, then SUCCEEDED.
    assert.equal(s.events, o.events + 1 + 1);
    assert.ok(s.p50 >= 0 && s.p50 <= s.p99, `${s.db}: delivery p50 ${s.p50}, p99 ${s.p99}`);
  }
  const text = formatReport(r, o);
  assert.match(text, /subset page via GraphQL/);
  assert.match(text, /subset page via RunService/);
});
