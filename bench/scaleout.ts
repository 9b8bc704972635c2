/**
 * Scale-out benchmark (`deno task bench scaleout`, needs DATABASE_URL — a PostgreSQL the bench may
 * create databases in): an in-process API-only server and real `gradsift worker` processes.
 *
 *   1. pickup latency: `startSelection` one run at a time to two idle workers, woken by NOTIFY (the
 *      default) and polling only (`--no-notify`, every 0.5 s); latency = the run's startedAt − createdAt
 *      (both the database's clock). Target p50 ≤ 0.5 s, p99 ≤ 2 s.
 *   2. drain: N tiny selection runs (n = 500) queued at once, then drained by one worker and, on a
 *      fresh database, by two; runs/s, and checks that no run was lost (all SUCCEEDED) or run twice
 *      (attempts = 1, one subset each). Drain time = last finish − first start (database clock). One
 *      worker is the baseline for two.
 *
 *   3. idle load: transactions/s the database commits with the API alone and with two idle workers
 *      (pg_stat_database.xact_commit over 20 s): the polling and heartbeat cost per worker.
 *   4. dataset distribution: Fashion-MNIST (if installed) uploaded in chunks and fetched into an empty
 *      worker store, verified: MB/s each way.
 *
 * Options: --runs N [1000] drain size, --latency N [100] pickup samples, --strategy S [random],
 * --only LIST (comma-separated phases: latency,drain,idle,dataset).
 */
import { and, count, eq, sql } from "drizzle-orm";
import { startServer } from "../src/api/server.ts";
import { runs, subsets } from "../src/db/schema.ts";
import { importBuiltinDataset } from "../src/runs/datasets.ts";
import { loadRunDataset } from "../src/runs/dataset_sync.ts";
import { DatasetStore } from "../src/data/store.ts";
import { parseIdOf } from "../src/api/ids.ts";
import { freshDb } from "../test/api/helpers.ts";
import { spawnGradsift } from "../test/scaleout/procs.ts";
import { argValue, table } from "./util.ts";

const DS = "blobs-500-16-4-1";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** A table row that only has a phase, a worker count and a note. */
function noteRow(phase: string, workers: number, note: string): (string | number)[] {
  return [phase, workers, "", "", "", "", "", "", note];
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function withSetup<T>(
  fn: (ctx: Awaited<ReturnType<typeof setup>>) => Promise<T>,
  workerArgs: string[] = [],
): Promise<T> {
  const ctx = await setup(workerArgs);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

async function setup(workerArgs: string[] = []) {
  const db = await freshDb();
  const dir = await Deno.makeTempDir({ prefix: "gradsift-bench-scaleout-" });
  const server = await startServer({
    port: 0,
    dataDir: `${dir}/api`,
    db: db.config,
    worker: false,
    log: () => {},
  });
  const h = await importBuiltinDataset(server.service, server.store, DS);
  const ds = await h.done;
  if (ds.status !== "READY") throw new Error(`import failed: ${ds.error}`);
  const workers: Awaited<ReturnType<typeof spawnGradsift>>[] = [];
  const gql = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  return {
    server,
    dsId: ds.id,
    startWorkers: async (n: number) => {
      for (let i = 0; i < n; i++) {
        workers.push(
          await spawnGradsift(["worker", ...workerArgs], `${dir}/w${workers.length}`, {
            DATABASE_URL: db.config.url!,
          }),
        );
      }
    },
    startSelection: async (strategy: string): Promise<number> => {
      const d = await gql(
        `mutation($i: StartSelectionInput!) { startSelection(input: $i) { run { id } } }`,
        { i: { datasetId: btoa(`Dataset:${ds.id}`).replace(/=+$/, ""), strategy, budget: "50" } },
      );
      return parseIdOf("Run", d.startSelection.run.id);
    },
    close: async () => {
      for (const w of workers) await w.stop();
      await server.close();
      await db.drop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function waitAll(db: Awaited<ReturnType<typeof setup>>["server"]["service"]["db"], total: number) {
  while (true) {
    const [r] = await db.select({ n: count() }).from(runs)
      .where(sql`${runs.status} in ('SUCCEEDED', 'FAILED', 'CANCELLED')`);
    if (r.n >= total) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the phases; prints the table and returns its rows. */
export async function main(args: readonly string[] = Deno.args): Promise<(string | number)[][]> {
  if (!Deno.env.get("DATABASE_URL")) {
    console.error("bench scaleout: set DATABASE_URL to a PostgreSQL where the bench may create databases");
    Deno.exit(2);
  }
  const nRuns = Number(argValue(args, "--runs") ?? 1000);
  const nLatency = Number(argValue(args, "--latency") ?? 100);
  const strategy = argValue(args, "--strategy") ?? "random";
  const only = (argValue(args, "--only") ?? "latency,drain,idle,dataset").split(",");
  const rows: (string | number)[][] = [];

  // 1. Pickup latency with two idle workers: woken by NOTIFY (the default), and polling only (--no-notify).
  for (const mode of only.includes("latency") ? ["notify", "polling"] as const : []) {
    await withSetup(async (ctx) => {
      await ctx.startWorkers(2);
      const lat: number[] = [];
      for (let i = 0; i < nLatency; i++) {
        const id = await ctx.startSelection(strategy);
        while (true) {
          const [r] = await ctx.server.service.db.select({
            status: runs.status,
            ms: sql<number>`extract(epoch from (${runs.startedAt} - ${runs.createdAt})) * 1000`,
          }).from(runs).where(eq(runs.id, id));
          if (r.status !== "QUEUED" && r.ms !== null) {
            lat.push(Number(r.ms));
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        await waitAll(ctx.server.service.db, i + 1);
        // Idle gaps of varying length, so pickups land anywhere in the polling interval.
        await new Promise((r) => setTimeout(r, 100 + (i * 37) % 400));
      }
      const p50 = (quantile(lat, 0.5) / 1000).toFixed(3);
      const p99 = (quantile(lat, 0.99) / 1000).toFixed(3);
      rows.push([`pickup latency (${mode})`, 2, nLatency, "", "", p50, p99, "", ""]);
    }, mode === "polling" ? ["--no-notify"] : []);
  }

  // 2. Drain N queued runs with one worker (baseline) and with two.
  for (const nWorkers of only.includes("drain") ? [1, 2] : []) {
    await withSetup(async (ctx) => {
      const ids: number[] = [];
      for (let i = 0; i < nRuns; i++) ids.push(await ctx.startSelection(strategy));
      await ctx.startWorkers(nWorkers);
      await waitAll(ctx.server.service.db, nRuns);
      const db = ctx.server.service.db;
      // Drain time on the database's clock: first start to last finish (process start-up excluded).
      const [span] = await db.select({
        s: sql<number>`extract(epoch from (max(${runs.finishedAt}) - min(${runs.startedAt})))`,
      }).from(runs);
      const seconds = Number(span.s);
      const [ok] = await db.select({ n: count() }).from(runs).where(eq(runs.status, "SUCCEEDED"));
      const [twice] = await db.select({ n: count() }).from(runs).where(sql`${runs.attempts} <> 1`);
      const [subs] = await db.select({ n: count() }).from(subsets);
      const perWorker = await db.select({ w: runs.workerId, n: count() }).from(runs)
        .where(and(eq(runs.status, "SUCCEEDED"))).groupBy(runs.workerId);
      rows.push([
        "drain",
        nWorkers,
        nRuns,
        seconds.toFixed(1),
        (nRuns / seconds).toFixed(1),
        "",
        "",
        `${nRuns - ok.n} lost`,
        `${twice.n} twice, ${subs.n - ok.n} extra subsets; per worker ${perWorker.map((p) => p.n).join("/")}`,
      ]);
    });
  }
  if (only.includes("idle")) {
    await withSetup(async (ctx) => {
      const db = ctx.server.service.db;
      const commits = async () => {
        const [r] = await db.select({ n: sql<number>`xact_commit` }).from(sql`pg_stat_database`)
          .where(sql`datname = current_database()`);
        return Number(r.n);
      };
      const rate = async () => {
        const [a, t0] = [await commits(), performance.now()];
        await new Promise((r) => setTimeout(r, 20_000));
        return (await commits() - a) / ((performance.now() - t0) / 1000);
      };
      const connections = async () => {
        const [r] = await db.select({ n: count() }).from(sql`pg_stat_activity`)
          .where(sql`datname = current_database()`);
        return r.n;
      };
      const alone = await rate();
      const connAlone = await connections();
      await ctx.startWorkers(2);
      await new Promise((r) => setTimeout(r, 3000));
      const withWorkers = await rate();
      const connWorkers = await connections();
      rows.push(
        noteRow("idle load: API alone", 0, `${alone.toFixed(1)} commits/s, ${connAlone} connections`),
      );
      rows.push(noteRow(
        "idle load: + 2 idle workers",
        2,
        `${withWorkers.toFixed(1)} commits/s (${((withWorkers - alone) / 2).toFixed(1)} per worker), ` +
          `${connWorkers} connections (${(connWorkers - connAlone) / 2} per worker)`,
      ));
    });
  }
  if (only.includes("dataset") && await exists("/usr/share/datasets/fashion-mnist")) {
    await withSetup(async (ctx) => {
      const { server } = ctx;
      const t0 = performance.now();
      const h = await importBuiltinDataset(server.service, server.store, "fashion-mnist");
      const ds = await h.done;
      if (ds.status !== "READY") throw new Error(`import failed: ${ds.error}`);
      const upload = (performance.now() - t0) / 1000;
      const dir = await Deno.makeTempDir({ prefix: "gradsift-bench-fetch-" });
      try {
        const t1 = performance.now();
        const data = await loadRunDataset(server.service, new DatasetStore(dir), ds);
        const fetch = (performance.now() - t1) / 1000;
        const mb = Object.values(data.meta.files).reduce((a, f) => a + f.bytes, 0) / 1e6;
        rows.push([
          "dataset: fashion-mnist",
          1,
          "",
          fetch.toFixed(1),
          "",
          "",
          "",
          "",
          `${mb.toFixed(0)} MB; import+upload ${upload.toFixed(1)} s; fetch+verify ${
            (mb / fetch).toFixed(0)
          } MB/s`,
        ]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
  console.log(`\nscale-out: strategy ${strategy}, dataset ${DS}, ${new Date().toISOString()}\n`);
  console.log(
    table(["phase", "workers", "runs", "seconds", "runs/s", "p50 s", "p99 s", "lost", "checks"], rows),
  );
  return rows;
}

if (import.meta.main) await main();
