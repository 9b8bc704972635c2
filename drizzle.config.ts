/** drizzle-kit: `deno task db:generate` writes a migration for src/db/schema.ts into migrations/. */
import { defineConfig } from "drizzle-kit";

const url = Deno.env.get("DATABASE_URL");
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
  ...(url ? { dbCredentials: { url } } : {}),
});
