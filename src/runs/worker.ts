/**
 * The run worker: takes run ids off the pg-boss queue and executes them — training runs through
 * `runTraining`, selection runs through `selectOnce` — storing every status transition, epoch, subset
 * and checkpoint through the `RunService`. One run at a time by default (`concurrency`). It shares
 * nothing with the API but the database, so it runs inside `gradsift serve` or as `gradsift worker` on
 * another machine (datasets then come from the database, see ./dataset_sync.ts).
 *
 * Liveness and ownership:
 * - The worker registers itself (host, adapter, limits, version) and heart-beats its row; pg-boss
 *   heart-beats each job it holds. A killed worker's job goes stale, pg-boss hands it out again, and the
 *   next worker claims the run (its previous worker's heartbeat is stale) and resumes it from the
 *   checkpoint stored after every epoch.
 * - Every write is made under the run's lease (worker id + attempt): a worker that lost its run (taken
 *   over, or cancelled from another process) gets `LeaseLostError` and drops it. The heartbeat also
 *   checks the lease of each local run, so a cancel from any API process stops it within a heartbeat.
 * - A run's own failure is the run's, not the job's: it is stored FAILED and the job completes, so
 *   pg-boss never retries it. `stop()` hands running runs back to the queue (QUEUED, resumed by the next
 *   worker from their checkpoint) and marks this worker stopped.
 */
import type { PgBoss } from "pg-boss";
import type { DatasetStore } from "../data/store.ts";
import type { RunRow, RunStatus, RunTimings } from "../db/schema.ts";
import { CancelledError, GradsiftError } from "../errors.ts";
import { getGpu, type Gpu } from "../gpu/device.ts";
import { decodeCheckpoint } from "../nn/checkpoint.ts";
import { channelsLastShape, toChannelsLast } from "../nn/model.ts";
import type { Split } from "../nn/train.ts";
import { resolveBudget } from "../selection/budget.ts";
import type { StrategyName } from "../selection/mod.ts";
import { VERSION } from "../version.ts";
import { loadRunDataset } from "./dataset_sync.ts";
import type { RunParams } from "./params.ts";
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings, type RunJob } from "./queue.ts";
import { selectOnce } from "./select_once.ts";
import { type Lease, LeaseLostError, RUN_QUEUE, type RunService } from "./service.ts";
import { runTraining } from "./training.ts";

export interface WorkerOptions {
  /** Runs executed at once by this worker [1]. */
  concurrency?: number;
  /** How often an idle worker polls the queue [0.5 s, pg-boss's minimum]. */
  pollingIntervalSeconds?: number;
  /** The queue's heartbeat and retry settings (must match the ones the queue was started with). */
  queue?: QueueSettings;
  /** The GPU to run on [the process-wide `getGpu()`]. */
  gpu?: () => Promise<Gpu>;
  log?: (msg: string) => void;
}

const SHUTDOWN = "shutdown";

export class RunWorker {
  /** This worker's id in the `workers` table (one per process and worker). */
  readonly id = crypto.randomUUID();
  readonly #service: RunService;
  readonly #store: DatasetStore;
  readonly #boss: PgBoss;
  readonly #opts: WorkerOptions;
  readonly #settings: QueueSettings;
  readonly #leases = new Map<number, Lease>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #started = false;

  constructor(service: RunService, store: DatasetStore, boss: PgBoss, opts: WorkerOptions = {}) {
    this.#service = service;
    this.#store = store;
    this.#boss = boss;
    this.#opts = opts;
    this.#settings = opts.queue ?? DEFAULT_QUEUE_SETTINGS;
  }

  #log(msg: string): void {
    (this.#opts.log ?? ((m: string) => console.error(`gradsift worker: ${m}`)))(msg);
  }

  /** Registers this worker, starts heart-beating and takes jobs. */
  async start(): Promise<void> {
    const gpu = await (this.#opts.gpu ?? getGpu)();
    const info = gpu.info();
    await this.#service.registerWorker({
      id: this.id,
      host: Deno.hostname(),
      pid: Deno.pid,
      adapter: `${info.description} (${info.backend})`,
      concurrency: this.#opts.concurrency ?? 1,
      limits: {
        maxBufferSize: info.limits.maxBufferSize,
        maxStorageBufferBindingSize: info.limits.maxStorageBufferBindingSize,
      },
      version: VERSION,
    });
    this.#heartbeat = setInterval(() => void this.#beat(), (this.#settings.heartbeatSeconds * 1000) / 4);
    await this.#boss.work<RunJob>(RUN_QUEUE, {
      batchSize: 1,
      localConcurrency: this.#opts.concurrency ?? 1,
      pollingIntervalSeconds: this.#opts.pollingIntervalSeconds ?? 0.5,
      // NOTIFY wakes the worker on PostgreSQL at once; polling stays as a slow backstop (e.g. for runs
      // handed out again after a lost worker, which are not announced).
      notifyPollingIntervalSeconds: 5,
      // With a backlog, fetch the next run as soon as one finishes instead of after a poll interval.
      burstWhenReadyExceeds: 1,
    }, async ([job]) => await this.execute(job.data.runId, job.signal));
    this.#started = true;
  }

  /** One heartbeat: the worker row, then the lease of every local run (lost → abort it). */
  async #beat(): Promise<void> {
    try {
      await this.#service.heartbeat(this.id);
      for (const [runId, lease] of this.#leases) {
        const run = await this.#service.findRun(runId);
        if (
          !run || run.status !== "RUNNING" || run.workerId !== lease.workerId ||
          run.attempts !== lease.attempt
        ) {
          this.#service.local.get(runId)?.controller.abort(new LeaseLostError(runId));
        }
      }
    } catch (e) {
      // The database is away: postgres-js and pg-boss reconnect on their own; keep beating.
      this.#log(`heartbeat failed (will retry): ${e instanceof Error ? e.message : e}`);
    }
  }

  /** Hands running runs back to the queue, stops taking jobs and marks this worker stopped. */
  async stop(): Promise<void> {
    const local = [...this.#service.local.values()];
    for (const r of local) r.controller.abort(SHUTDOWN);
    await Promise.all(local.map((r) => r.done));
    if (this.#started) await this.#boss.offWork(RUN_QUEUE, { wait: false });
    this.#started = false;
    clearInterval(this.#heartbeat);
    await this.#service.workerStopped(this.id).catch(() => {});
  }

  /**
   * Executes one run if there is something to claim (QUEUED, or RUNNING on a lost worker). Never throws
   * for the run's own failures. `jobSignal` (pg-boss's) fires when the job's claim went away.
   */
  async execute(runId: number, jobSignal?: AbortSignal): Promise<void> {
    const service = this.#service;
    if (service.local.has(runId)) return;
    const controller = new AbortController();
    const onJobLost = () => controller.abort(new LeaseLostError(runId));
    jobSignal?.addEventListener("abort", onJobLost);
    let settle!: () => void;
    const done = new Promise<void>((r) => settle = r);
    // Registered before the claim, so a cancel between the two finds it.
    service.local.set(runId, { controller, done });
    const t0 = performance.now();
    try {
      const run = await this.#claim(runId);
      if (!run) return;
      const lease: Lease = { workerId: this.id, attempt: run.attempts };
      this.#leases.set(runId, lease);
      if (run.attempts > 1) this.#log(`run ${runId}: attempt ${run.attempts}`);
      const finish = (status: RunStatus, error: string | null, timings: RunTimings) =>
        service.finish(runId, ["RUNNING"], status, error, timings, lease);
      try {
        const timings = await this.#run(run, lease, controller.signal);
        const wallSeconds = (performance.now() - t0) / 1000;
        await finish("SUCCEEDED", null, { ...timings, wallSeconds });
      } catch (e) {
        const wallSeconds = (performance.now() - t0) / 1000;
        const timings = { selectionSeconds: 0, trainSeconds: 0, wallSeconds };
        const reason = controller.signal.reason;
        if (e instanceof LeaseLostError || reason instanceof LeaseLostError) {
          this.#log(`run ${runId}: no longer ours (cancelled or taken over elsewhere); dropped`);
        } else if (controller.signal.aborted && (e instanceof CancelledError || e === reason)) {
          if (reason === SHUTDOWN) {
            if (await service.handBack(runId, lease)) await service.queue?.send(runId);
          } else {
            await finish("CANCELLED", null, timings);
          }
        } else {
          const message = e instanceof GradsiftError
            ? `${e.message} [${e.code}]`
            : `internal error: ${e instanceof Error ? e.message : e}`;
          if (!(e instanceof GradsiftError)) console.error(`gradsift: run ${runId} failed:`, e);
          await finish("FAILED", message, timings);
        }
      }
    } finally {
      jobSignal?.removeEventListener("abort", onJobLost);
      this.#leases.delete(runId);
      service.local.delete(runId);
      settle();
    }
  }

  /**
   * Claims the run. A run still RUNNING under a worker whose heartbeat is not yet stale (pg-boss noticed
   * the lost job a little before our own staleness window ended) is retried for one window.
   */
  async #claim(runId: number): Promise<RunRow | null> {
    const stale = this.#settings.heartbeatSeconds;
    const until = Date.now() + 2 * stale * 1000;
    while (true) {
      const run = await this.#service.claim(runId, this.id, stale);
      if (run) return run;
      const now = await this.#service.findRun(runId);
      if (!now || now.status !== "RUNNING" || now.workerId === this.id || Date.now() > until) return null;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async #run(
    run: RunRow,
    lease: Lease,
    signal: AbortSignal,
  ): Promise<{ selectionSeconds: number; trainSeconds: number }> {
    const service = this.#service;
    const p = run.params as unknown as RunParams;
    const ds = await service.dataset(run.datasetId);
    const data = await loadRunDataset(service, this.#store, ds, this.#log.bind(this));
    const inputShape = channelsLastShape(data.meta.inputShape);
    const per = inputShape.reduce((a, b) => a * b, 1);
    const n = Math.min(data.meta.numTrain, p.limit ?? data.meta.numTrain);
    const train: Split = {
      features: toChannelsLast(data.train.features, data.meta.inputShape).subarray(0, n * per),
      labels: data.train.labels.subarray(0, n),
    };
    const test: Split | undefined = data.test
      ? { features: toChannelsLast(data.test.features, data.meta.inputShape), labels: data.test.labels }
      : undefined;
    const gpu = await (this.#opts.gpu ?? getGpu)();
    const strategy = run.strategy as StrategyName;
    const model = { kind: p.model, hidden: p.hidden, seed: p.seed };
    const trainConfig = {
      epochs: p.epochs,
      batchSize: p.batchSize,
      lr: p.lr,
      momentum: p.momentum,
      weightDecay: p.weightDecay,
      seed: p.seed,
    };
    const resume = await service.resumePoint(run.id);
    if (run.kind === "SELECTION") {
      const s = await selectOnce(gpu, {
        model: { ...model, inputShape, numClasses: data.meta.numClasses },
        train,
        strategy,
        budget: resolveBudget(run.budget, n),
        warmEpochs: p.warmEpochs,
        trainConfig,
        lambda: p.lambda,
        mode: p.mode,
        nfgWarmEpochs: p.nfgWarmEpochs,
        signal,
      });
      await service.recordSubset(run.id, s, train.labels, lease);
      return { selectionSeconds: s.seconds, trainSeconds: 0 };
    }
    if (resume) this.#log(`run ${run.id}: resuming after epoch ${resume.epoch}`);
    let recordError: unknown = null;
    const r = await runTraining(gpu, {
      model,
      data: { train, test, inputShape, numClasses: data.meta.numClasses },
      train: trainConfig,
      selection: {
        strategy,
        budget: run.budget,
        selectEvery: p.selectEvery,
        warmEpochs: p.warmEpochs,
        lambda: p.lambda,
        mode: p.mode,
        nfgWarmEpochs: p.nfgWarmEpochs,
      },
      signal,
      resume: resume ? decodeCheckpoint(resume.data, `checkpoint of run ${run.id}`) : undefined,
      onCheckpoint: (bytes, epoch) => service.saveCheckpoint(run.id, epoch, bytes, lease),
      onEpoch: (e) => service.recordEpoch(run.id, e, p.epochs, lease),
      // CREST reports subsets without awaiting them: keep a failure for the end instead of losing it.
      onSubset: async (s) => {
        try {
          await service.recordSubset(run.id, s, train.labels, lease);
        } catch (e) {
          recordError ??= e;
        }
      },
    });
    if (recordError) throw recordError;
    return { selectionSeconds: r.selectionSeconds, trainSeconds: r.trainSeconds };
  }
}
