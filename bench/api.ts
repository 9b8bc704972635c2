/**
 * API benchmark (`deno task bench api`): the real server (`startServer`, worker off) on PGlite and on
 * PostgreSQL, clients in a separate process (bench/api_load.ts).
 *
 * 1. Subset pages. A 6,000-member subset of a 60,000-sample, 10-class dataset is stored through
 *    `RunService.recordSubset` (no training). The page set is every 100-sample page of it in four
 *    orders — by index, by weight (heaviest first), and both within each single class — walked once
 *    through GraphQL to collect the real cursors (and checked against the same walk through the
 *    service). autocannon (npm) then POSTs `node(id) { … on Subset { samples(first, after, label,
 *    orderBy) { edges { cursor node { index label weight } } pageInfo } } }` with those pages in turn
 *    over `--connections` connections for `--duration` seconds. Baselines in the same run, under the
 *    same load: GET /healthz (HTTP plus `select 1`, no GraphQL) and POST `{ __typename }` (HTTP and
 *    yoga, no database); and the same pages read sequentially through `RunService.members` in-process
 *    (no HTTP, no GraphQL).
 *    Target: ≥ 1,000 requests/s at p99 ≤ 50 ms.
 * 2. Live events. A run is set RUNNING (`RunService.claim`); `--subscribers` clients (graphql-ws over
 *    WebSocket, `--sse` of them over Server-Sent Events instead) subscribe to `runEvents`; once each
 *    has the run's status, the bench stores and publishes `--events` epochs (`recordEpoch`) every
 *    `--interval` ms, a 100-member subset (`recordSubset`) before every tenth, then SUCCEEDED
 *    (`finish`). Each client must receive exactly that sequence, in order. Delivery latency: from the
 *    moment the service call that publishes returns to the client's receipt (wall clock, both
 *    processes on one machine); "from call" also counts the database writes before the publish.
 *    Target: every subscriber gets every event in order, p99 delivery ≤ 100 ms.
 *
 * PostgreSQL: `--pg-url URL` (or DATABASE_URL) uses a server you run — the bench creates and drops its
 * own database in it; otherwise, when Debian's binaries are installed (/usr/lib/postgresql/N/bin), it
 * starts a throwaway cluster on a free 127.0.0.1 port (as .ci/run does, `su postgres` when root) and
 * removes it after. `--db pglite|postgres|both` [both when PostgreSQL can be had, else pglite].
 * Other options: --duration S [10], --connections N [10], --members N [6000], --page N [100],
 * --subscribers N [200], --sse N [20], --events N [40], --interval MS [50], --tiny (smoke-test sizes).
 */
import { eq } from "drizzle-orm";
import { type GradsiftServer, startServer } from "../src/api/server.ts";
import { toGlobalId } from "../src/api/ids.ts";
import type { DbConfig } from "../src/db/client.ts";
import { datasets, runs } from "../src/db/schema.ts";
import type { MemberKey, MemberOrder, RunService } from "../src/runs/service.ts";
import type { ClientLog, HttpLoadConfig, HttpLoadResult, SubscribeConfig } from "./api_load.ts";
import { nowMs } from "./api_load.ts";
import { argValue, table } from "./util.ts";

export interface ApiBenchOptions {
  dbs: ("pglite" | "postgres")[];
  /** A PostgreSQL server to create the bench database in; none: a throwaway cluster. */
  pgUrl?: string;
  durationS: number;
  connections: number;
  members: number;
  pageSize: number;
  /** Subscribers in all; `sse` of them over SSE, the rest over graphql-ws. */
  subscribers: number;
  sse: number;
  events: number;
  intervalMs: number;
  log?: (msg: string) => void;
}

export const DEFAULTS: Omit<ApiBenchOptions, "dbs"> = {
  durationS: 10,
  connections: 10,
  members: 6000,
  pageSize: 100,
  subscribers: 200,
  sse: 20,
  events: 40,
  intervalMs: 50,
};

export const TINY: Omit<ApiBenchOptions, "dbs"> = {
  durationS: 1,
  connections: 2,
  members: 300,
  pageSize: 20,
  subscribers: 6,
  sse: 2,
  events: 4,
  intervalMs: 10,
};

/** Targets from issue 6. */
export const TARGETS = { rps: 1000, pageP99Ms: 50, deliveryP99Ms: 100 };

const NUM_TRAIN = 60_000;
const NUM_CLASSES = 10;

export interface LoadRow extends HttpLoadResult {
  db: string;
  case: string;
  clients: number;
}

export interface SubscriberResult {
  db: string;
  ws: number;
  sse: number;
  events: number;
  /** Clients whose sequence was exactly the expected one. */
  inOrder: number;
  failures: string[];
  p50: number;
  p99: number;
  max: number;
  /** p99 counted from the start of the publishing service call. */
  p99FromCall: number;
}

export interface ApiBenchReport {
  pages: number;
  load: LoadRow[];
  subscribers: SubscriberResult[];
}

// ---- setup -----------------------------------------------------------------------------------------

/** A mulberry32 stream in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Seeded {
  subsetId: number;
  subsetGid: string;
  labels: Uint32Array;
  datasetId: number;
}

/** A READY dataset row (no data on disk: nothing here reads it), a run, and one stored subset. */
export async function seed(service: RunService, members: number): Promise<Seeded> {
  const rand = rng(6);
  // (NUM_TRAIN,) u32: a class per training sample.
  const labels = new Uint32Array(NUM_TRAIN).map(() => Math.floor(rand() * NUM_CLASSES));
  const classCounts = new Array(NUM_CLASSES).fill(0);
  for (const l of labels) classCounts[l]++;
  const [ds] = await service.db.insert(datasets).values({
    name: `bench-${crypto.randomUUID().slice(0, 8)}`,
    source: "bench/api.ts",
    numTrain: NUM_TRAIN,
    numTest: 10_000,
    numClasses: NUM_CLASSES,
    inputShape: [1, 28, 28],
    classCounts,
    status: "READY",
  }).returning();
  const run = await insertRun(service, ds.id);
  // `members` distinct rows by a partial Fisher–Yates shuffle; weights in (0, 10].
  const pool = Uint32Array.from({ length: NUM_TRAIN }, (_, i) => i);
  for (let i = 0; i < members; i++) {
    const j = i + Math.floor(rand() * (NUM_TRAIN - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const indices = pool.slice(0, members);
  const weights = Float32Array.from({ length: members }, () => 10 * (1 - rand()));
  const counts = new Array(NUM_CLASSES).fill(0);
  for (const i of indices) counts[labels[i]]++;
  const sub = await service.recordSubset(run.id, {
    indices,
    weights,
    round: 0,
    epoch: 0,
    seconds: 0,
    classCounts: counts,
  }, labels);
  return { subsetId: sub.id, subsetGid: toGlobalId("Subset", sub.id), labels, datasetId: ds.id };
}

async function insertRun(service: RunService, datasetId: number) {
  const [run] = await service.db.insert(runs).values({
    kind: "TRAINING",
    datasetId,
    strategy: "random",
    budget: "0.1",
    params: { model: "mlp", epochs: 1000 },
  }).returning();
  return run;
}

// ---- pages -----------------------------------------------------------------------------------------

export const PAGE_QUERY =
  `query Page($id: ID!, $first: Int!, $after: String, $label: Int, $orderBy: SubsetSampleOrder) {
  node(id: $id) {
    ... on Subset {
      samples(first: $first, after: $after, label: $label, orderBy: $orderBy) {
        edges { cursor node { index label weight } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

interface PageSpec {
  label: number | null;
  orderBy: MemberOrder;
  /** Service baseline: the keyset position. */
  after: MemberKey | null;
  /** HTTP: the GraphQL cursor. */
  cursor: string | null;
  /** Indices the page holds, in order. */
  indices: number[];
}

type PageData = {
  node: {
    samples: {
      edges: { cursor: string; node: { index: number; label: number; weight: number } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
};

async function gql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const r = await res.json() as { data?: T; errors?: unknown };
  if (!r.data || r.errors) throw new Error(`GraphQL: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/**
 * Every page in the four orders, walked through the service and through GraphQL side by side; throws
 * when the two disagree anywhere (so the load below times correct answers).
 */
async function walkPages(server: GradsiftServer, s: Seeded, pageSize: number): Promise<PageSpec[]> {
  const specs: PageSpec[] = [];
  const variants: { label: number | null; orderBy: MemberOrder }[] = [];
  for (const orderBy of ["INDEX", "WEIGHT_DESC"] as const) {
    variants.push({ label: null, orderBy });
    for (let l = 0; l < NUM_CLASSES; l++) variants.push({ label: l, orderBy });
  }
  for (const v of variants) {
    let after: MemberKey | null = null;
    let cursor: string | null = null;
    for (;;) {
      const page = await server.service.members(s.subsetId, { first: pageSize, after, ...v });
      const viaApi: PageData = await gql<PageData>(server.url, PAGE_QUERY, {
        id: s.subsetGid,
        first: pageSize,
        after: cursor,
        ...v,
      });
      const edges = viaApi.node.samples.edges;
      const indices = page.rows.map((r) => r.index);
      const apiIndices = edges.map((e) => e.node.index);
      if (JSON.stringify(indices) !== JSON.stringify(apiIndices)) {
        throw new Error(
          `${v.orderBy} label ${v.label} after ${JSON.stringify(after)}: API and service differ`,
        );
      }
      if (edges.some((e) => v.label !== null && e.node.label !== v.label)) {
        throw new Error(`label ${v.label}: a page holds another class`);
      }
      if (page.hasNextPage !== viaApi.node.samples.pageInfo.hasNextPage) {
        throw new Error("hasNextPage differs");
      }
      if (!indices.length) break;
      specs.push({ ...v, after, cursor, indices });
      if (!page.hasNextPage) break;
      const last = page.rows.at(-1)!;
      after = v.orderBy === "INDEX" ? { index: last.index } : { index: last.index, weight: last.weight };
      cursor = viaApi.node.samples.pageInfo.endCursor;
    }
  }
  return specs;
}

/** Sequential in-process reads of the same pages through the service: the no-HTTP, no-GraphQL floor. */
async function serviceBaseline(
  service: RunService,
  subsetId: number,
  specs: PageSpec[],
  pageSize: number,
  durationS: number,
): Promise<HttpLoadResult> {
  const times: number[] = [];
  const end = performance.now() + durationS * 1000;
  let i = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    const p = specs[i++ % specs.length];
    const t = performance.now();
    const page = await service.members(subsetId, {
      first: pageSize,
      after: p.after,
      label: p.label,
      orderBy: p.orderBy,
    });
    times.push(performance.now() - t);
    if (page.rows.length !== p.indices.length) throw new Error("service page changed size");
  }
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return {
    requests: times.length,
    rps: times.length / wall,
    p50: pct(0.5),
    p90: pct(0.9),
    p99: pct(0.99),
    max: times.at(-1)!,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    graphqlErrors: 0,
  };
}

// ---- client processes ------------------------------------------------------------------------------

const ROOT = new URL("..", import.meta.url).pathname;

function spawnClient(config: HttpLoadConfig | SubscribeConfig, path: string): Deno.ChildProcess {
  Deno.writeTextFileSync(path, JSON.stringify(config));
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/api_load.ts", path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_PROXY: "127.0.0.1,localhost" },
  }).spawn();
}

async function httpLoad(config: HttpLoadConfig, tmp: string): Promise<HttpLoadResult> {
  const child = spawnClient(config, `${tmp}/load.json`);
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`load generator failed (${out.code}): ${text}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

/** Reads the child's stdout line by line. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

/** Publication times of the events, by key: when the service call began, and when it returned. */
type Published = Map<string, { call: number; pub: number }>;

/**
 * Stores and publishes the run's events through the service: `o.events` epochs every `o.intervalMs`, a
 * 100-member subset before every tenth, then SUCCEEDED. Returns the sequence a subscriber must see.
 */
async function publishEvents(
  service: RunService,
  runId: number,
  labels: Uint32Array,
  o: ApiBenchOptions,
  published: Published,
): Promise<string[]> {
  const expected: string[] = ["Status:RUNNING"];
  const timed = async (key: string, call: () => Promise<unknown>) => {
    const at = nowMs();
    await call();
    published.set(key, { call: at, pub: nowMs() });
    expected.push(key);
  };
  for (let e = 1; e <= o.events; e++) {
    if ((e - 1) % 10 === 0) {
      const at = nowMs();
      const sub = await service.recordSubset(runId, {
        indices: Uint32Array.from({ length: 100 }, (_, i) => (i * 599 + e) % NUM_TRAIN),
        weights: new Float32Array(100).fill(1),
        round: Math.floor((e - 1) / 10),
        epoch: e,
        seconds: 0.01,
        classCounts: new Array(NUM_CLASSES).fill(10),
      }, labels);
      const key = `Subset:${toGlobalId("Subset", sub.id)}`;
      published.set(key, { call: at, pub: nowMs() });
      expected.push(key);
    }
    await timed(`Epoch:${e}`, () =>
      service.recordEpoch(runId, {
        epoch: e,
        trainLoss: 1 / e,
        testLoss: 1.1 / e,
        testAccuracy: 1 - 0.5 / e,
        seconds: 0.5,
        evalSeconds: 0.05,
        samples: 6000,
        lr: 0.05,
        subsetSize: 6000,
        selectionSeconds: 0.1,
        trainSeconds: 0.5 * e,
      }, o.events));
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  await timed("Status:SUCCEEDED", () => service.finish(runId, ["RUNNING"], "SUCCEEDED", null));
  return expected;
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

/** Checks every client's sequence against `expected` and measures delivery from `published`. */
function score(
  logs: ClientLog[],
  expected: string[],
  published: Published,
): Pick<SubscriberResult, "inOrder" | "failures" | "p50" | "p99" | "max" | "p99FromCall"> {
  const delays: number[] = [];
  const fromCall: number[] = [];
  const failures: string[] = [];
  let inOrder = 0;
  logs.forEach((c, i) => {
    const keys = c.events.map((e) => e.key);
    if (c.error) failures.push(`client ${i} (${c.transport}): ${c.error}`);
    if (JSON.stringify(keys) === JSON.stringify(expected)) inOrder++;
    else {failures.push(
        `client ${i} (${c.transport}): got ${keys.length} events, expected ${expected.length}`,
      );}
    for (const e of c.events) {
      const p = published.get(e.key);
      if (!p) continue; // the first status: from the snapshot, not published during the measurement
      delays.push(e.at - p.pub);
      fromCall.push(e.at - p.call);
    }
  });
  return {
    inOrder,
    failures,
    p50: percentile(delays, 0.5),
    p99: percentile(delays, 0.99),
    max: percentile(delays, 1),
    p99FromCall: percentile(fromCall, 0.99),
  };
}

/** Part 2: the subscriber process on a RUNNING run while the events are published. */
async function subscribers(
  server: GradsiftServer,
  s: Seeded,
  o: ApiBenchOptions,
  db: string,
  tmp: string,
): Promise<SubscriberResult> {
  const service = server.service;
  const run = await insertRun(service, s.datasetId);
  // A worker of the bench's own holds the run (this server runs none).
  const workerId = `bench-api-${crypto.randomUUID().slice(0, 8)}`;
  await service.registerWorker({
    id: workerId,
    host: "bench",
    pid: Deno.pid,
    adapter: "none",
    concurrency: 1,
    limits: {},
    version: "bench",
  });
  if (!await service.claim(run.id, workerId, 600)) throw new Error("could not set the run RUNNING");
  const ws = o.subscribers - o.sse;
  const child = spawnClient(
    { mode: "subscribe", url: server.url, runId: toGlobalId("Run", run.id), ws, sse: o.sse },
    `${tmp}/subscribe.json`,
  );
  const out = lines(child.stdout);
  const timeout = setTimeout(() => child.kill("SIGKILL"), 120_000 + o.events * o.intervalMs * 4);
  try {
    const first = await out.next();
    if (first.value !== "READY") throw new Error(`subscriber process: ${first.value ?? "no output"}`);
    const published: Published = new Map();
    const expected = await publishEvents(service, run.id, s.labels, o, published);
    let last = "";
    for await (const l of out) last = l;
    await child.status;
    const logs = JSON.parse(last) as ClientLog[];
    return { db, ws, sse: o.sse, events: expected.length - 1, ...score(logs, expected, published) };
  } finally {
    clearTimeout(timeout);
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status.catch(() => {});
    await service.db.delete(runs).where(eq(runs.id, run.id));
  }
}

// ---- databases ---------------------------------------------------------------------------------------

interface BenchDb {
  config: DbConfig;
  close(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Debian's newest PostgreSQL bin directory, if installed. */
export function postgresBin(): string | null {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name)
      .filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
    for (const v of versions.reverse()) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        return bin;
      } catch { /* next */ }
    }
  } catch { /* none */ }
  return null;
}

async function sh(argv: string[]): Promise<void> {
  const asRoot = Deno.uid() === 0;
  const cmd = asRoot ? ["su", "postgres", "-c", argv.map((a) => `'${a}'`).join(" ")] : argv;
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${argv[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A throwaway cluster on a free port (as .ci/run starts one). */
async function throwawayPostgres(bin: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "gradsift-bench-pg-" });
  if (Deno.uid() === 0) {
    await new Deno.Command("chown", { args: ["postgres", dir] }).output();
  }
  const port = freePort();
  await sh([
    `${bin}/initdb`,
    "-D",
    `${dir}/data`,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  await sh([
    `${bin}/pg_ctl`,
    "-D",
    `${dir}/data`,
    "-l",
    `${dir}/log`,
    "-w",
    "-o",
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`,
    "start",
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await sh([`${bin}/pg_ctl`, "-D", `${dir}/data`, "-m", "fast", "-w", "stop"]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A fresh database named for this bench in the server at `url`, dropped by `close`. */
async function freshPgDatabase(url: string): Promise<BenchDb> {
  const { default: postgres } = await import("postgres");
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const name = `gradsift_bench_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    config: { url: u.toString() },
    close: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

// ---- the benchmark ----------------------------------------------------------------------------------

type Cluster = { url: string; stop(): Promise<void> };

/** The bench's database: PGlite in `dir` (as `gradsift serve` keeps it), or a fresh PostgreSQL database. */
async function openBenchDb(
  db: "pglite" | "postgres",
  dir: string,
  o: ApiBenchOptions,
  cluster: { current: Cluster | null },
  log: (m: string) => void,
): Promise<BenchDb> {
  if (db === "pglite") return { config: { pgliteDir: `${dir}/pglite` }, close: () => Promise.resolve() };
  let url = o.pgUrl;
  if (!url) {
    const bin = postgresBin();
    if (!bin) throw new Error("no PostgreSQL: pass --pg-url or install Debian's postgresql");
    if (!cluster.current) log(`starting a throwaway PostgreSQL from ${bin}`);
    cluster.current ??= await throwawayPostgres(bin);
    url = cluster.current.url;
  }
  return await freshPgDatabase(url);
}

/** Part 1 on one server: the checked pages under load, with the baselines. */
async function loadRows(
  server: GradsiftServer,
  s: Seeded,
  specs: PageSpec[],
  o: ApiBenchOptions,
  db: string,
  tmp: string,
): Promise<LoadRow[]> {
  const bodies = specs.map((p) =>
    JSON.stringify({
      query: PAGE_QUERY,
      variables: { id: s.subsetGid, first: o.pageSize, after: p.cursor, label: p.label, orderBy: p.orderBy },
    })
  );
  const base = { mode: "http" as const, connections: o.connections, durationS: o.durationS };
  const row = (name: string, r: HttpLoadResult, clients = o.connections) => ({
    db,
    case: name,
    clients,
    ...r,
  });
  const healthz = await httpLoad(
    { ...base, url: server.url.replace(/\/graphql$/, "/healthz"), bodies: [] },
    tmp,
  );
  const typename = await httpLoad({ ...base, url: server.url, bodies: [`{"query":"{ __typename }"}`] }, tmp);
  const pages = await httpLoad({ ...base, url: server.url, bodies }, tmp);
  const direct = await serviceBaseline(
    server.service,
    s.subsetId,
    specs,
    o.pageSize,
    Math.min(o.durationS, 5),
  );
  return [
    row("GET /healthz (HTTP + select 1)", healthz),
    row("POST { __typename } (HTTP + yoga, no database)", typename),
    row("subset page via GraphQL", pages),
    row("subset page via RunService (in-process)", direct, 1),
  ];
}

/** Runs both parts on each database; returns the measurements (main() prints them). */
export async function runApiBench(o: ApiBenchOptions): Promise<ApiBenchReport> {
  const log = o.log ?? ((m: string) => console.error(`bench api: ${m}`));
  const report: ApiBenchReport = { pages: 0, load: [], subscribers: [] };
  const cluster: { current: Cluster | null } = { current: null };
  try {
    for (const db of o.dbs) {
      const tmp = await Deno.makeTempDir({ prefix: "gradsift-bench-api-" });
      try {
        const bdb = await openBenchDb(db, tmp, o, cluster, log);
        const server = await startServer({
          port: 0,
          dataDir: tmp,
          db: bdb.config,
          worker: false,
          log: () => {},
        })
          .catch(async (e) => {
            await bdb.close();
            throw e;
          });
        try {
          log(`${db}: storing a ${o.members}-member subset`);
          const s = await seed(server.service, o.members);
          const specs = await walkPages(server, s, o.pageSize);
          report.pages = specs.length;
          log(`${db}: ${specs.length} pages checked (API = service); loading for ${o.durationS} s per case`);
          report.load.push(...await loadRows(server, s, specs, o, db, tmp));
          log(`${db}: ${o.subscribers} subscribers, ${o.events} epochs`);
          report.subscribers.push(await subscribers(server, s, o, db, tmp));
        } finally {
          await server.close();
          await bdb.close();
        }
      } finally {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
      }
    }
  } finally {
    await cluster.current?.stop();
  }
  return report;
}

const ms = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : "—");

export function formatReport(r: ApiBenchReport, o: ApiBenchOptions): string {
  // The targets are stated for these sizes; other sizes (--tiny, smaller pages) are not held to them.
  const pageSizes = o.members >= DEFAULTS.members && o.pageSize >= DEFAULTS.pageSize;
  const subSizes = o.subscribers >= DEFAULTS.subscribers;
  const verdict = (sizes: boolean, met: boolean) => !sizes ? "n/a (sizes)" : met ? "met" : "NOT met";
  const loadRows = r.load.map((l) => {
    const isTarget = l.case === "subset page via GraphQL";
    const met = l.rps >= TARGETS.rps && l.p99 <= TARGETS.pageP99Ms && !l.errors && !l.non2xx &&
      !l.graphqlErrors;
    return [
      l.db,
      l.case,
      l.clients,
      l.requests,
      Math.round(l.rps),
      ms(l.p50),
      ms(l.p99),
      ms(l.max),
      l.errors + l.timeouts + l.non2xx + l.graphqlErrors,
      isTarget ? verdict(pageSizes, met) : "baseline",
    ];
  });
  const subRows = r.subscribers.map((s) => [
    s.db,
    `${s.ws} + ${s.sse}`,
    s.events,
    `${s.inOrder}/${s.ws + s.sse}`,
    ms(s.p50),
    ms(s.p99),
    ms(s.max),
    ms(s.p99FromCall),
    verdict(subSizes, s.inOrder === s.ws + s.sse && s.p99 <= TARGETS.deliveryP99Ms),
  ]);
  return [
    `### Subset pages: ${r.pages} pages of ${o.pageSize} from a ${o.members}-member subset, ` +
    `${o.connections} connections, ${o.durationS} s per case — target ≥ ${TARGETS.rps} req/s at p99 ≤ ${TARGETS.pageP99Ms} ms`,
    "",
    table(
      ["database", "case", "clients", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "target"],
      loadRows,
    ),
    "",
    `### Live events: one run, ${o.events} epochs every ${o.intervalMs} ms plus a subset every 10 — ` +
    `target: all in order, p99 delivery ≤ ${TARGETS.deliveryP99Ms} ms`,
    "",
    table(
      [
        "database",
        "ws + sse",
        "events",
        "all in order",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99 from call",
        "target",
      ],
      subRows,
    ),
    ...r.subscribers.flatMap((s) => s.failures.slice(0, 5).map((f) => `${s.db}: ${f}`)),
  ].join("\n");
}

function num(args: string[], name: string, dflt: number): number {
  const v = argValue(args, name);
  return v === undefined ? dflt : Number(v);
}

export async function main(args: string[] = Deno.args): Promise<void> {
  const base = args.includes("--tiny") ? TINY : DEFAULTS;
  const pgUrl = argValue(args, "--pg-url") ?? Deno.env.get("DATABASE_URL") ?? undefined;
  const which = argValue(args, "--db") ?? (pgUrl || postgresBin() ? "both" : "pglite");
  const o: ApiBenchOptions = {
    dbs: which === "both" ? ["pglite", "postgres"] : [which as "pglite" | "postgres"],
    pgUrl,
    durationS: num(args, "--duration", base.durationS),
    connections: num(args, "--connections", base.connections),
    members: num(args, "--members", base.members),
    pageSize: num(args, "--page", base.pageSize),
    subscribers: num(args, "--subscribers", base.subscribers),
    sse: num(args, "--sse", base.sse),
    events: num(args, "--events", base.events),
    intervalMs: num(args, "--interval", base.intervalMs),
  };
  let cpu = "unknown CPU";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  const report = await runApiBench(o);
  console.log(
    `machine: ${cpu}, ${navigator.hardwareConcurrency} threads · deno ${Deno.version.deno} · ` +
      `${new Date().toISOString().slice(0, 16)}Z · load average before: ${load}`,
  );
  console.log(formatReport(report, o));
}

if (import.meta.main) await main();
