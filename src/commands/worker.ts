/**
 * `gradsift worker`: a GPU worker process for a shared PostgreSQL (`DATABASE_URL`). It takes runs from
 * the pg-boss queue, runs them on this machine's adapter, fetches datasets from the database into its
 * own data directory, and publishes run events by NOTIFY to every API process. SIGINT/SIGTERM hand the
 * runs in flight back to the queue (another worker resumes them from their checkpoints).
 */
import { parseArgs } from "node:util";
import { DatasetStore, defaultDataDir } from "../data/store.ts";
import { openDb } from "../db/client.ts";
import { InvalidInputError } from "../errors.ts";
import { createRunPubSub, notifyBus } from "../runs/events.ts";
import { bossQueue, startBoss } from "../runs/queue.ts";
import { RunService } from "../runs/service.ts";
import { RunWorker } from "../runs/worker.ts";
import { QUEUE_OPTIONS, queueSettingsFromArgs, waitForSignal } from "./serve_options.ts";

export const WORKER_HELP = `usage: gradsift worker [options]   (needs DATABASE_URL)

  --concurrency N       runs at once on this worker [1]
  --heartbeat S         seconds without a heartbeat before a run's job is given to another worker [10]
  --retries N           times a lost run is handed out again before it is FAILED [2]
  --supervise S         how often pg-boss looks for lost jobs [2]
  --no-notify           poll for runs (every 0.5 s) instead of being woken by NOTIFY (PgBouncer)
  data directory: GRADSIFT_DATA [./data]; datasets are fetched from the database and cached there`;

export async function workerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      concurrency: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
      ...QUEUE_OPTIONS,
    },
  });
  if (values.help) {
    console.log(WORKER_HELP);
    return 0;
  }
  const url = Deno.env.get("DATABASE_URL");
  if (!url) {
    throw new InvalidInputError(
      "a worker needs DATABASE_URL (a PostgreSQL shared with the API): the embedded PGlite database " +
        "serves one process, whose own worker runs inside `gradsift serve`",
    );
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(`--concurrency must be an integer ≥ 1, got "${values.concurrency}"`);
  }
  const settings = queueSettingsFromArgs(values);
  const log = (m: string) => console.error(`gradsift worker: ${m}`);
  // A worker needs few connections: one run's writes, its heartbeat, and pg-boss's own (2, below).
  const handle = await openDb({ url, poolSize: 3 });
  const pubsub = createRunPubSub();
  const service = new RunService(handle.db, pubsub);
  service.bus = await notifyBus(handle, pubsub, log, { listen: false });
  service.distributeDatasets = true;
  service.workerStaleSeconds = settings.heartbeatSeconds;
  // Finding lost jobs and failing dead-lettered runs is the API processes' (`gradsift serve`) work.
  const boss = await startBoss(handle, settings, { poolSize: 2, supervise: false });
  service.queue = bossQueue(boss);
  const store = new DatasetStore(defaultDataDir());
  const worker = new RunWorker(service, store, boss, { concurrency, queue: settings, log });
  await worker.start();
  console.log(`gradsift worker ${worker.id} taking runs (concurrency ${concurrency}, data in ${store.root})`);
  log(`${await waitForSignal()}: handing back runs in flight and stopping`);
  await worker.stop();
  await service.bus.close();
  await boss.stop({ graceful: false, close: true, timeout: 2000 }).catch(() => {});
  await handle.close();
  return 0;
}
