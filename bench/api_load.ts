/**
 * The client side of the API benchmark (bench/api.ts), run as a separate process so that clients never
 * share the server's event loop. `deno run -A bench/api_load.ts CONFIG.json` with one of:
 *
 * - `{ "mode": "http", url, bodies, connections, durationS }`: autocannon POSTs the bodies (JSON strings,
 *   taken in turn across all connections) for `durationS` seconds and prints one JSON line: requests/s,
 *   latency percentiles (ms), errors, non-2xx responses and responses carrying GraphQL `errors`. With no
 *   bodies it GETs `url` instead (the /healthz baseline).
 * - `{ "mode": "subscribe", url, runId, ws, sse }`: opens `ws` graphql-ws clients and `sse` Server-Sent
 *   Events clients on `runEvents(runId)`, prints `READY` once every one has its first event (the run's
 *   status), then records each event's arrival time (ms since the Unix epoch, sub-millisecond) until
 *   every stream has ended, and prints one JSON line with each client's events.
 */
import autocannon from "autocannon";
import { createClient } from "graphql-ws";

export interface HttpLoadConfig {
  mode: "http";
  url: string;
  /** JSON request bodies, taken in turn; none: GET `url`. */
  bodies: string[];
  connections: number;
  durationS: number;
}

export interface HttpLoadResult {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 2xx responses whose body holds GraphQL `errors`. */
  graphqlErrors: number;
}

export interface SubscribeConfig {
  mode: "subscribe";
  url: string;
  runId: string;
  ws: number;
  sse: number;
}

/** One client's events, in arrival order: a key (`Status:RUNNING`, `Epoch:3`, `Subset:12`) and when. */
export interface ClientLog {
  transport: "ws" | "sse";
  events: { key: string; at: number }[];
  error?: string;
}

/** What a dashboard asks for: status changes, epoch metrics, subset summaries. */
export const RUN_EVENTS_QUERY = `subscription Watch($id: ID!) {
  runEvents(id: $id) {
    __typename
    ... on StatusChanged { status error at }
    ... on EpochCompleted { epoch { epoch trainLoss testLoss testAccuracy seconds subsetSize } }
    ... on SubsetSelected { subset { id round epoch size classCounts } }
  }
}`;

type EventData = {
  runEvents: {
    __typename: string;
    status?: string;
    epoch?: { epoch: number };
    subset?: { id: string };
  };
};

/** Wall-clock ms with sub-ms resolution, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function eventKey(d: EventData): string {
  const e = d.runEvents;
  if (e.__typename === "StatusChanged") return `Status:${e.status}`;
  if (e.__typename === "EpochCompleted") return `Epoch:${e.epoch!.epoch}`;
  return `Subset:${e.subset!.id}`;
}

async function httpLoad(c: HttpLoadConfig): Promise<HttpLoadResult> {
  let next = 0;
  let graphqlErrors = 0;
  const post = c.bodies.length > 0;
  const result = await autocannon({
    url: c.url,
    connections: c.connections,
    duration: c.durationS,
    requests: [
      post
        ? {
          method: "POST",
          headers: { "content-type": "application/json" },
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: c.bodies[next++ % c.bodies.length],
          }),
          onResponse: (status: number, body: string) => {
            if (status === 200 && body.includes('"errors"')) graphqlErrors++;
          },
        }
        : { method: "GET" },
    ],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || c.durationS),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    graphqlErrors,
  };
}

async function wsClient(c: SubscribeConfig, first: () => void): Promise<ClientLog> {
  const log: ClientLog = { transport: "ws", events: [] };
  const client = createClient({ url: c.url.replace(/^http/, "ws"), retryAttempts: 0, lazy: true });
  try {
    for await (
      const r of client.iterate<EventData>({ query: RUN_EVENTS_QUERY, variables: { id: c.runId } })
    ) {
      const at = nowMs();
      if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
      log.events.push({ key: eventKey(r.data), at });
      if (log.events.length === 1) first();
    }
  } catch (e) {
    log.error = e instanceof Error ? e.message : JSON.stringify(e);
  } finally {
    await client.dispose();
  }
  return log;
}

async function sseClient(c: SubscribeConfig, first: () => void): Promise<ClientLog> {
  const log: ClientLog = { transport: "sse", events: [] };
  try {
    const res = await fetch(c.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: RUN_EVENTS_QUERY, variables: { id: c.runId } }),
    });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    let buf = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      const at = nowMs();
      buf += decoder.decode(chunk, { stream: true });
      // SSE messages end with a blank line; a message is "event: next" + "data: {...}", or "event: complete".
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const msg = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = msg.split("\n").find((l) => l.startsWith("data:"));
        if (!msg.includes("event: next") || !data) continue;
        const r = JSON.parse(data.slice(5)) as { data?: EventData; errors?: unknown };
        if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
        log.events.push({ key: eventKey(r.data), at });
        if (log.events.length === 1) first();
      }
    }
  } catch (e) {
    log.error = e instanceof Error ? e.message : String(e);
  }
  return log;
}

async function subscribe(c: SubscribeConfig): Promise<ClientLog[]> {
  let waiting = c.ws + c.sse;
  let ready!: () => void;
  const allReady = new Promise<void>((r) => (ready = r));
  const first = () => {
    if (--waiting === 0) ready();
  };
  const clients = [
    ...Array.from({ length: c.ws }, () => wsClient(c, first)),
    ...Array.from({ length: c.sse }, () => sseClient(c, first)),
  ];
  // A client that fails before its first event must not leave the parent waiting for READY.
  const settled = Promise.all(clients);
  await Promise.race([allReady, settled]);
  console.log("READY");
  return await settled;
}

if (import.meta.main) {
  const config = JSON.parse(await Deno.readTextFile(Deno.args[0])) as HttpLoadConfig | SubscribeConfig;
  const out = config.mode === "http" ? await httpLoad(config) : await subscribe(config);
  console.log(JSON.stringify(out));
  // autocannon and closed sockets may leave timers behind: end here.
  Deno.exit(0);
}
