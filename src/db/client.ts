/**
 * Opens the database: PostgreSQL through postgres-js when a URL is given (`DATABASE_URL`), otherwise
 * embedded PGlite in a directory (`${GRADSIFT_DATA}/pglite` for `gradsift serve`) or in memory (tests).
 * Migrations in migrations/ are applied on open. Both drivers are typed as one `Db`.
 */
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { PGlite } from "@electric-sql/pglite";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Where the database is: a PostgreSQL URL, a PGlite directory, or neither (in-memory PGlite). */
export interface DbConfig {
  url?: string;
  /** PostgreSQL connections at most [10]. */
  poolSize?: number;
  pgliteDir?: string;
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
    const db = drizzle(sql, { schema, casing: "snake_case" });
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
  const client = new PGlite(config.pgliteDir);
  const db = drizzle(client, { schema, casing: "snake_case" });
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

/** The configuration `gradsift serve` uses: DATABASE_URL, else PGlite under `<dataDir>/pglite`. */
export function dbConfigFromEnv(dataDir: string): DbConfig {
  const url = Deno.env.get("DATABASE_URL");
  return url ? { url } : { pgliteDir: `${dataDir.replace(/\/+$/, "")}/pglite` };
}

export { schema };
