/**
 * Smoke test of bench/scaleout.ts on the PostgreSQL of DATABASE_URL: a few runs through each phase with
 * real worker processes; checks its accounting (runs lost or run twice), never its timings.
 */
import assert from "node:assert/strict";
import { main } from "../../bench/scaleout.ts";
import { PG_URL } from "../api/helpers.ts";

Deno.test(
  "bench scaleout: tiny latency and drain phases lose no run and run none twice",
  { ignore: !PG_URL, sanitizeOps: false, sanitizeResources: false },
  async () => {
    const rows = await main(["--runs", "12", "--latency", "3", "--only", "latency,drain"]);
    assert.deepEqual(rows.map((r) => r[0]), [
      "pickup latency (notify)",
      "pickup latency (polling)",
      "drain",
      "drain",
    ]);
    for (const r of rows.slice(0, 2)) assert.ok(Number(r[5]) >= 0 && Number(r[6]) >= Number(r[5]), String(r));
    for (const r of rows.slice(2)) {
      assert.equal(r[7], "0 lost");
      assert.match(String(r[8]), /^0 twice, 0 extra subsets; per worker /);
    }
    assert.match(String(rows[3][8]), /per worker \d+\/\d+$/, "two workers took runs");
  },
);
