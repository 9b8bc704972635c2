/**
 * The gradsift service: yoga on Deno.serve at /graphql (HTTP POST/GET, SSE, GraphiQL from local
 * assets), graphql-ws over WebSocket on the same path, /healthz, the web dashboard at / (dashboard.ts);
 * the database (PGlite or PostgreSQL) migrated on open, pg-boss and (unless `worker: false`, an API-only
 * process) the in-process worker started. On PostgreSQL, run events cross processes by LISTEN/NOTIFY and
 * imported datasets are stored in the database for workers elsewhere (`gradsift worker`).
 *
 * WebSocket: `graphql-ws/use/deno` is broken on Deno 2.9.6 (the server socket's `protocol` is ""),
 * so this hands graphql-ws's `makeServer` the protocol itself, and passes the upgrade request to
 * yoga's envelop as `req` (as `request`, yoga's GET-mutation guard rejects every WS mutation).
 */
import { type ExecutionArgs, getOperationAST } from "graphql";
import { useGraphQlJit } from "@envelop/graphql-jit";
import { createYoga } from "graphql-yoga";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer } from "graphql-ws";
import type { PgBoss } from "pg-boss";
import { sql } from "drizzle-orm";
import { DatasetStore } from "../data/store.ts";
import { type DbConfig, type DbHandle, openDb } from "../db/client.ts";
import { createRunPubSub, notifyBus } from "../runs/events.ts";
import {
  bossQueue,
  DEFAULT_QUEUE_SETTINGS,
  type QueueSettings,
  startBoss,
  watchDeadLetters,
} from "../runs/queue.ts";
import { RunService } from "../runs/service.ts";
import { RunWorker, type WorkerOptions } from "../runs/worker.ts";
import type { Ctx } from "./builder.ts";
import { dashboardHandler } from "./dashboard.ts";
import { createLoaders } from "./loaders.ts";
import { DEFAULT_LIMITS, type Limits, limitsPlugin, maskError } from "./limits.ts";
import { schema } from "./schema/mod.ts";

export interface ServerOptions {
  /** [4000]; 0 picks a free port. */
  port?: number;
  hostname?: string;
  /** Dataset store root. */
  dataDir: string;
  db: DbConfig;
  /** Allowed CORS origins; undefined allows any (yoga's default), [] turns CORS off. */
  corsOrigins?: string[];
  /** Largest request body in bytes [1 MiB]. */
  maxRequestBytes?: number;
  limits?: Limits;
  /** Start the in-process worker [true]; false for an API-only process (`serve --no-worker`). */
  worker?: boolean | WorkerOptions;
  /** Heartbeat and retry settings of the run queue. */
  queue?: QueueSettings;
  log?: (msg: string) => void;
}

export interface GradsiftServer {
  url: string;
  port: number;
  service: RunService;
  store: DatasetStore;
  dbHandle: DbHandle;
  /** Imports found IMPORTING at the start of an embedded service, marked FAILED ("interrupted"). */
  recovered: number;
  /** The in-process worker, if any. */
  worker: RunWorker | null;
  /** The run queue's pg-boss. */
  boss: PgBoss;
  /**
   * Graceful shutdown: ends subscriptions, stops the worker (runs in flight go back to the queue and
   * resume from their checkpoints when a worker takes them again), closes the database.
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_REQUEST_BYTES = 1 << 20;

type Root = { execute: (a: ExecutionArgs) => unknown; subscribe: (a: ExecutionArgs) => unknown };

/** Opens everything and starts serving. */
export async function startServer(opts: ServerOptions): Promise<GradsiftServer> {
  const log = opts.log ?? ((m: string) => console.error(`gradsift: ${m}`));
  const dbHandle = await openDb(opts.db);
  const store = new DatasetStore(opts.dataDir);
  const pubsub = createRunPubSub();
  const service = new RunService(dbHandle.db, pubsub);
  // Only an embedded database is ours alone: on PostgreSQL another API process may be importing.
  const recovered = dbHandle.pglite ? await service.recoverImports() : 0;
  if (recovered) log(`${recovered} import(s) found IMPORTING were interrupted: marked FAILED`);
  let boss: PgBoss | null = null;
  let worker: RunWorker | null = null;
  const shutdown = new AbortController();
  const settings = opts.queue ?? DEFAULT_QUEUE_SETTINGS;
  service.workerStaleSeconds = settings.heartbeatSeconds;
  try {
    if (dbHandle.notifications) {
      service.bus = await notifyBus(dbHandle, pubsub, log);
      service.distributeDatasets = true;
    }
    boss = await startBoss(dbHandle, settings);
    service.queue = bossQueue(boss);
    await watchDeadLetters(boss, service, settings);
    if (opts.worker !== false) {
      const wo = typeof opts.worker === "object" ? opts.worker : {};
      worker = new RunWorker(service, store, boss, { queue: settings, log, ...wo });
      await worker.start();
    }
  } catch (e) {
    await boss?.stop({ graceful: false, close: !dbHandle.pglite }).catch(() => {});
    await dbHandle.close();
    throw e;
  }

  const context: Omit<Ctx, "loaders"> = { service, store, shutdown: shutdown.signal, log };
  const cors = opts.corsOrigins === undefined
    ? undefined
    : opts.corsOrigins.length
    ? { origin: opts.corsOrigins, credentials: true }
    : false;
  const yoga = createYoga<Record<string, unknown>, Ctx>({
    schema,
    context: (): Ctx => ({ ...context, loaders: createLoaders(service.db) }),
    graphqlEndpoint: "/graphql",
    graphiql: { subscriptionsProtocol: "WS" },
    renderGraphiQL,
    cors,
    logging: "warn",
    maskedErrors: { maskError },
    plugins: [
      limitsPlugin(opts.limits ?? DEFAULT_LIMITS),
      // Queries run compiled (graphql-jit, once per document): graphql-js's field-by-field execution of
      // a 100-sample page cost more than its database reads (bench/api.ts). Mutations and
      // subscriptions keep graphql-js.
      useGraphQlJit({}, {
        enableIf: (args) => getOperationAST(args.document, args.operationName)?.operation === "query",
      }),
    ],
    landingPage: false,
  });

  const sockets = new Set<WebSocket>();
  const wsServer = makeServer<Record<string, unknown>, { socket: WebSocket; request: Request }>({
    execute: (args) => (args.rootValue as Root).execute(args) as never,
    subscribe: (args) => (args.rootValue as Root).subscribe(args) as never,
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args: ExecutionArgs = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      return errors.length ? errors : args;
    },
  });

  const maxBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const dashboard = await dashboardHandler();
  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return await health(dbHandle, service);
    const page = dashboard(req, url);
    if (page) return page;
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (url.pathname !== "/graphql") return new Response("not found", { status: 404 });
      const { socket, response } = Deno.upgradeWebSocket(req, {
        protocol: GRAPHQL_TRANSPORT_WS_PROTOCOL,
        idleTimeout: 30,
      });
      socket.onopen = () => {
        sockets.add(socket);
        const closed = wsServer.opened({
          protocol: GRAPHQL_TRANSPORT_WS_PROTOCOL,
          send: (m) => socket.send(m),
          close: (c, r) => socket.close(c, r),
          onMessage: (cb) => {
            socket.onmessage = async (ev) => {
              if (String(ev.data).length > maxBytes) {
                socket.close(CloseCode.BadRequest, "message too large");
                return;
              }
              try {
                await cb(String(ev.data));
              } catch (e) {
                console.error(e);
                socket.close(CloseCode.InternalServerError, "Internal server error");
              }
            };
          },
        }, { socket, request: req });
        socket.onclose = (ev) => {
          sockets.delete(socket);
          closed(ev.code, ev.reason);
        };
      };
      return response;
    }
    const checked = await checkSize(req, maxBytes);
    if (checked instanceof Response) return checked;
    return await yoga.fetch(checked, { info });
  };

  const server = Deno.serve({
    port: opts.port ?? 4000,
    hostname: opts.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, handler);
  const port = server.addr.port;
  const host = opts.hostname && opts.hostname !== "0.0.0.0" ? opts.hostname : "127.0.0.1";
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/graphql`,
    port,
    service,
    store,
    dbHandle,
    recovered,
    worker,
    boss: boss!,
    close: () =>
      closing ??= (async () => {
        await worker?.stop();
        await service.bus.close();
        shutdown.abort();
        for (const s of sockets) s.close(1000, "server shutting down");
        await server.shutdown();
        await boss?.stop({ graceful: false, close: !dbHandle.pglite, timeout: 2000 }).catch((e) =>
          log(`pg-boss stop: ${e}`)
        );
        await dbHandle.close();
      })(),
  };
}

/**
 * 413 when the body is over `max` bytes: by Content-Length, or (chunked) by reading it up to the limit,
 * in which case the request comes back rebuilt around the bytes read.
 */
async function checkSize(req: Request, max: number): Promise<Response | Request> {
  const tooLarge = () =>
    Response.json(
      { errors: [{ message: `request body over ${max} bytes`, extensions: { code: "BAD_USER_INPUT" } }] },
      { status: 413 },
    );
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(length)) return length > max ? tooLarge() : req;
  if (new URL(req.url).search.length > max) return tooLarge();
  if (!req.body) return req;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.byteLength;
    if (total > max) return tooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return new Request(req, { body });
}

async function health(h: DbHandle, service: RunService): Promise<Response> {
  try {
    await h.db.execute(sql`select 1`);
    return Response.json({ status: "ok", database: h.driver, runsInProcess: service.local.size });
  } catch (e) {
    return Response.json({ status: "error", error: String(e) }, { status: 503 });
  }
}
