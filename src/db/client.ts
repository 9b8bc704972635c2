/**
 * Opens the database: PostgreSQL through postgres-js when a URL is given (`DATABASE_URL`), otherwise
 * embedded PGlite in a directory (`${GRADSIFT_DATA}/pglite` for `gradsift serve`) or in memory (tests).
 * Migrations in migrations/ are applied on open. Both drivers are typed as one `Db`.
 */
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { PGlite, PGlite as PGliteClass, Results } from "@electric-sql/pglite";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Where the database is: a PostgreSQL URL, a PGlite directory, or neither (in-memory PGlite). */
export interface DbConfig {
  url?: string;
  pgliteDir?: string;
  /** Called with every statement drizzle sends (tests count them; pg-boss's own are not included). */
  onQuery?: (sql: string, params: unknown[]) => void;
}

/** An open database. */
export interface DbHandle {
  db: Db;
  /** "postgres" or "pglite". */
  driver: "postgres" | "pglite";
  /** The PGlite instance (pg-boss runs on it through its adapter); null on PostgreSQL. */
  pglite: PGlite | null;
  /** The connection string (pg-boss opens its own pool on PostgreSQL); null on PGlite. */
  url: string | null;
  close(): Promise<void>;
}

const migrationsFolder = new URL("../../migrations", import.meta.url).pathname;

/** Opens and migrates the database described by `config`. */
export async function openDb(config: DbConfig = {}): Promise<DbHandle> {
  if (config.url) {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const sql = postgres(config.url, { max: 10, onnotice: () => {} });
    const db = drizzle(sql, { schema, casing: "snake_case", logger: queryLogger(config) });
    try {
      await migrate(db, { migrationsFolder });
    } catch (e) {
      await sql.end();
      throw e;
    }
    return {
      db: db as unknown as Db,
      driver: "postgres",
      pglite: null,
      url: config.url,
      close: () => sql.end(),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  // PGlite's NodeFS creates only the last path component.
  if (config.pgliteDir) await Deno.mkdir(config.pgliteDir, { recursive: true });
  const client = new (fastQueries(PGlite))(config.pgliteDir);
  const db = drizzle(client, { schema, casing: "snake_case", logger: queryLogger(config) });
  try {
    await migrate(db, { migrationsFolder });
  } catch (e) {
    await client.close();
    throw e;
  }
  return {
    db: db as unknown as Db,
    driver: "pglite",
    pglite: client,
    url: null,
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

/**
 * PGlite with a cheaper `query` for what drizzle sends (measured on the subset page request of
 * bench/api.ts, where PGlite is half the server's CPU time):
 * - Per-query `parsers` are dropped. drizzle passes its own (dates, timestamps, intervals left as
 *   text) with every query, and PGlite copies its whole parser table to merge them (≈ 15 % of the
 *   request). Without them PGlite parses `timestamptz` into a Date, which drizzle's timestamp columns
 *   — the only one of those types this schema has — take as they take the text (`new Date(value)`).
 * - A statement whose parameters are all finite numbers (or non-empty arrays of them) runs through
 *   the simple protocol with the numbers written into the SQL: PGlite's extended protocol costs six
 *   calls into the wasm module per query (parse, describe, bind, describe, execute, sync), the simple
 *   one a single call (≈ 30 % less time for a page of members). Only statements without quotes,
 *   comments or semicolons are rewritten, so every `$n` is a placeholder; numbers are parenthesised.
 *   Anything else takes the ordinary path.
 */
function fastQueries(Base: typeof PGliteClass) {
  return class extends Base {
    override async query<T>(
      query: string,
      params?: unknown[],
      options?: Parameters<PGliteClass["query"]>[2],
    ): Promise<Results<T>> {
      const { parsers: _, ...rest } = options ?? {};
      const inlined = params?.length && Object.keys(rest).every((k) => k === "rowMode")
        ? inlineNumbers(query, params)
        : null;
      if (inlined === null) return await super.query<T>(query, params, rest);
      const results = await this.exec(inlined, rest);
      return results[0] as Results<T>;
    }
  };
}

/** `query` with every `$n` replaced by its (numeric) parameter; null when that is not safe. */
export function inlineNumbers(query: string, params: readonly unknown[]): string | null {
  if (/['`;]|\$\$|--|\/\*/.test(query)) return null;
  let ok = true;
  const out = query.replace(/\$(\d+)/g, (_, n: string) => {
    const v = params[Number(n) - 1];
    const lit = typeof v === "number"
      ? (Number.isFinite(v) ? `(${v})` : null)
      : Array.isArray(v) && v.length && v.every((x) => typeof x === "number" && Number.isFinite(x))
      ? `(ARRAY[${v.join(",")}])`
      : null;
    if (lit === null) ok = false;
    return lit ?? "";
  });
  return ok ? out : null;
}

function queryLogger(config: DbConfig) {
  const onQuery = config.onQuery;
  return onQuery ? { logQuery: (sql: string, params: unknown[]) => onQuery(sql, params) } : false;
}

/** The configuration `gradsift serve` uses: DATABASE_URL, else PGlite under `<dataDir>/pglite`. */
export function dbConfigFromEnv(dataDir: string): DbConfig {
  const url = Deno.env.get("DATABASE_URL");
  return url ? { url } : { pgliteDir: `${dataDir.replace(/\/+$/, "")}/pglite` };
}

export { schema };
