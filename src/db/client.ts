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
  /** PostgreSQL connections at most [10]. */
  poolSize?: number;
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
  /**
   * PostgreSQL LISTEN/NOTIFY (null on PGlite, which serves one process). `listen` keeps its own
   * connection and re-listens after a reconnect; it returns the function that stops listening.
   */
  notifications: {
    listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
    notify(channel: string, payload: string): Promise<void>;
  } | null;
  close(): Promise<void>;
}

const migrationsFolder = new URL("../../migrations", import.meta.url).pathname;

/** Opens and migrates the database described by `config`. */
export async function openDb(config: DbConfig = {}): Promise<DbHandle> {
  if (config.url) {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const sql = postgres(config.url, { max: config.poolSize ?? 10, onnotice: () => {} });
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
      notifications: {
        listen: async (channel, onMessage) => {
          const { unlisten } = await sql.listen(channel, onMessage);
          return unlisten;
        },
        notify: async (channel, payload) => {
          await sql.notify(channel, payload);
        },
      },
      close: () => sql.end({ timeout: 5 }),
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
    notifications: null,
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

/**
 * PGlite with a cheaper `query` for what drizzle sends (measured on the subset page request of
 * bench/api.ts, where PGlite was half the server's CPU time):
 * - Per-query `parsers` are dropped. drizzle passes its own (dates, timestamps, intervals left as
 *   text) with every query, and PGlite copies its whole parser table to merge them (≈ 15 % of the
 *   request). Without them PGlite parses `timestamptz` into a Date, which drizzle's timestamp columns
 *   — the only one of those types this schema has — take as they take the text (`new Date(value)`).
 * - A statement whose parameters are all finite numbers (or non-empty arrays of them) becomes a
 *   server-side prepared statement (`PREPARE`, once per SQL text) run by `EXECUTE name(args…)` through
 *   the simple protocol. PGlite's `query` sends the unnamed statement through the extended protocol:
 *   six calls into the wasm module (parse, describe, bind, describe, execute, sync) and a new plan every
 *   time — planning alone is about half a member page's time in PGlite. PostgreSQL infers the
 *   parameter types at PREPARE as it does for the unnamed statement, and EXECUTE coerces the numeric
 *   arguments to them. Only statements without quotes, comments or semicolons qualify (so every `$n`
 *   is a parameter); arguments are parenthesised numbers or ARRAY[…] of them. Anything else, or a
 *   statement PostgreSQL will not prepare, takes the ordinary path. At most MAX_PREPARED are kept.
 */
function fastQueries(Base: typeof PGliteClass) {
  const MAX_PREPARED = 256;
  return class extends Base {
    /** SQL text → name of its prepared statement (null: cannot be prepared), in order of preparation. */
    #prepared = new Map<string, Promise<string | null>>();
    #count = 0;

    override async query<T>(
      query: string,
      params?: unknown[],
      options?: Parameters<PGliteClass["query"]>[2],
    ): Promise<Results<T>> {
      const { parsers: _, ...rest } = options ?? {};
      const args = params?.length && Object.keys(rest).every((k) => k === "rowMode")
        ? numericArguments(query, params)
        : null;
      const name = args && await this.#prepare(query);
      if (!name) return await super.query<T>(query, params, rest);
      try {
        const results = await this.exec(`execute ${name}(${args.join(", ")})`, rest);
        return results[0] as Results<T>;
      } catch (e) {
        // Evicted (and deallocated) between lookup and EXECUTE: run it the ordinary way.
        if (!String(e).includes(`prepared statement "${name}" does not exist`)) throw e;
        return await super.query<T>(query, params, rest);
      }
    }

    #prepare(query: string): Promise<string | null> {
      let name = this.#prepared.get(query);
      if (name) return name;
      if (this.#prepared.size >= MAX_PREPARED) {
        const [oldest, old] = this.#prepared.entries().next().value!;
        this.#prepared.delete(oldest);
        old.then((n) => (n ? this.exec(`deallocate ${n}`) : null)).catch(() => {});
      }
      const fresh = `gradsift_stmt_${++this.#count}`;
      name = this.exec(`prepare ${fresh} as ${query}`).then(() => fresh, () => null);
      this.#prepared.set(query, name);
      return name;
    }
  };
}

/**
 * The parameters of `query` as SQL literals, $1 first: finite numbers, parenthesised, and non-empty
 * arrays of them as ARRAY[…]; null when any is something else, or `query` holds quotes, comments or
 * semicolons (then a `$n` might not be a parameter).
 */
export function numericArguments(query: string, params: readonly unknown[]): string[] | null {
  // Quotes, dollar quotes ($$, $tag$), comments, several statements: a `$n` might not be a parameter.
  if (/['`;]|\$[A-Za-z_]?\w*\$|--|\/\*/.test(query)) return null;
  let used = 0;
  for (const m of query.matchAll(/\$(\d+)/g)) used = Math.max(used, Number(m[1]));
  if (used === 0 || used > params.length) return null;
  const out: string[] = [];
  for (const v of params.slice(0, used)) {
    if (typeof v === "number" && Number.isFinite(v)) out.push(`(${v})`);
    else if (Array.isArray(v) && v.length && v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      out.push(`(ARRAY[${v.join(",")}])`);
    } else return null;
  }
  return out;
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
