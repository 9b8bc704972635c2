/** `deno task schema:print`: writes schema/schema.graphql from the Pothos schema. */
import { printedSchema } from "./schema/mod.ts";

export const SCHEMA_FILE = new URL("../../schema/schema.graphql", import.meta.url);

if (import.meta.main) {
  await Deno.writeTextFile(SCHEMA_FILE, printedSchema());
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
