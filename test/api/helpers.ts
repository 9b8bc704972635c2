/**
 * Test helpers: a real server on a free port with a temporary data directory, on in-memory PGlite —
 * or, when DATABASE_URL is set, on a fresh PostgreSQL database created for the test and dropped after.
 */
import type { DbConfig } from "../../src/db/client.ts";
import { type GradsiftServer, type ServerOptions, startServer } from "../../src/api/server.ts";
import { importDataset } from "../scaleout/procs.ts";

export const PG_URL = Deno.env.get("DATABASE_URL") ?? null;

/** A fresh database: a new PostgreSQL database when DATABASE_URL is set, else in-memory PGlite (or `pgliteDir`). */
export async function freshDb(pgliteDir?: string): Promise<{ config: DbConfig; drop(): Promise<void> }> {
  if (!PG_URL) return { config: pgliteDir ? { pgliteDir } : {}, drop: () => Promise.resolve() };
  const { default: postgres } = await import("postgres");
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const name = `gradsift_test_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    config: { url: url.toString() },
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface TestServer extends GradsiftServer {
  dataDir: string;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;
  stop(): Promise<void>;
}

/** Starts the real server on port 0. `stop()` closes it and removes what it made. */
export async function testServer(
  opts: Partial<ServerOptions> & { dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "gradsift-api-" });
  const db = opts.db ? { config: opts.db, drop: () => Promise.resolve() } : await freshDb();
  const server = await startServer({ port: 0, dataDir, log: () => {}, ...opts, db: db.config });
  const gql: TestServer["gql"] = async (query, variables) => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return await res.json();
  };
  return {
    ...server,
    dataDir,
    gql,
    stop: async () => {
      await server.close();
      await db.drop();
      if (!opts.dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Imports a built-in dataset and waits until it is READY; returns its global id. */
export async function importReady(s: TestServer, name: string): Promise<string> {
  return await importDataset(s.gql, name);
}

/** Polls a run until its status is one of `statuses`. */
export async function waitForRun(s: TestServer, id: string, statuses: string[], timeoutMs = 30_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const q = await s.gql<{ run: { status: string; error: string | null; progress: number } }>(
      `query($id: ID!) { run(id: $id) { status error progress } }`,
      { id },
    );
    if (q.data && statuses.includes(q.data.run.status)) return q.data.run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${id} did not reach ${statuses}`);
}
