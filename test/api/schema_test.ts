import assert from "node:assert/strict";
import { printedSchema } from "../../src/api/schema/mod.ts";
import { SCHEMA_FILE } from "../../src/api/print_schema.ts";

Deno.test("schema/schema.graphql matches the Pothos schema (run `deno task schema:print` after a change)", async () => {
  const onDisk = await Deno.readTextFile(SCHEMA_FILE);
  assert.equal(onDisk, printedSchema(), "schema drift: run `deno task schema:print` and commit the result");
});
