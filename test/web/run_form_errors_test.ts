/**
 * The start-run form puts each API error next to the field it is about (`fieldOf` in
 * web/src/pages/new_run.ts). The errors here are the real server's, for one wrong field at a time, so a
 * change of wording in the API that the form would misplace fails this test.
 */
import assert from "node:assert/strict";
import { fieldOf, FIELDS } from "../../web/src/pages/new_run.ts";
import { importReady, testServer } from "../api/helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("start-run form: every API validation error lands on the field it names", opts, async () => {
  const s = await testServer({ worker: false });
  try {
    const datasetId = await importReady(s, "blobs-300-8-3-1");
    const cases: [string, Record<string, unknown>, string | null][] = [
      ["budget", { budget: "5000" }, "budget exceeds the samples"],
      ["budget", { budget: "0.5.1" }, "budget is no number"],
      ["budget", { budget: null }, "random without a budget"],
      ["strategy", { strategy: "kmeans" }, "unknown strategy"],
      ["epochs", { options: { epochs: 0 } }, "epochs below 1"],
      ["epochs", { options: { epochs: "abc" } }, "GraphQL's own coercion error"],
      ["batchSize", { options: { batchSize: 0 } }, null],
      ["selectEvery", { options: { selectEvery: 0 } }, null],
      ["warmEpochs", { options: { warmEpochs: -1 } }, null],
      ["seed", { options: { seed: 1.5 } }, null],
      ["lr", { options: { lr: -1 } }, null],
      ["limit", { options: { limit: 0 } }, null],
      ["hidden", { options: { hidden: [0] } }, null],
      ["datasetId", { datasetId: "nonsense" }, "not an id"],
    ];
    for (const [field, change, why] of cases) {
      assert.ok(FIELDS.includes(field), field);
      const input = { datasetId, strategy: "random", budget: "0.1", ...change };
      const r = await s.gql(
        `mutation($i: StartTrainingInput!) { startTraining(input: $i) { run { id } } }`,
        { i: input },
      );
      assert.equal(r.errors?.length, 1, `${field} (${why ?? "invalid"}): ${JSON.stringify(r)}`);
      assert.equal(fieldOf(r.errors![0]), field, `"${r.errors![0].message}" belongs to ${field}`);
    }
    // A problem with no field of the form goes above it.
    const mode = await s.gql(
      `mutation($i: StartTrainingInput!) { startTraining(input: $i) { run { id } } }`,
      { i: { datasetId, strategy: "gradmatch", budget: "0.1", options: { mode: "sideways" } } },
    );
    assert.equal(fieldOf(mode.errors![0]), null, mode.errors![0].message);
  } finally {
    await s.stop();
  }
});
