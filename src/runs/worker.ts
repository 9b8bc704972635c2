/**
 * The run worker: takes run ids off the pg-boss queue and executes them — training runs through
 * `runTraining`, selection runs through `selectOnce` — storing every status transition, epoch and
 * subset through the `RunService`. One run at a time by default (`concurrency`); it shares nothing
 * with the API but the service and the database, so it can run in a process of its own.
 *
 * A run's failure is the run's, not the job's: the handler stores it and returns normally, so
 * pg-boss never retries a run. Cancellation aborts the run's signal; the trainer stops after the
 * batch in flight. `stop()` aborts what is running and marks it FAILED ("interrupted").
 */
import type { PgBoss } from "pg-boss";
import type { DatasetStore } from "../data/store.ts";
import type { RunRow } from "../db/schema.ts";
import { CancelledError, GradsiftError } from "../errors.ts";
import { getGpu, type Gpu } from "../gpu/device.ts";
import { channelsLastShape, toChannelsLast } from "../nn/model.ts";
import type { Split } from "../nn/train.ts";
import { resolveBudget } from "../selection/budget.ts";
import type { StrategyName } from "../selection/mod.ts";
import type { RunParams } from "./params.ts";
import { selectOnce } from "./select_once.ts";
import { RUN_QUEUE, type RunService } from "./service.ts";
import { runTraining } from "./training.ts";
import type { RunJob } from "./queue.ts";

export interface WorkerOptions {
  /** Runs executed at once by this worker [1]. */
  concurrency?: number;
  /** How often an idle worker polls the queue [0.5 s, pg-boss's minimum]. */
  pollingIntervalSeconds?: number;
  /** The GPU to run on [the process-wide `getGpu()`]. */
  gpu?: () => Promise<Gpu>;
  log?: (msg: string) => void;
}

const SHUTDOWN = "shutdown";

export class RunWorker {
  readonly #service: RunService;
  readonly #store: DatasetStore;
  readonly #boss: PgBoss;
  readonly #opts: WorkerOptions;
  #started = false;

  constructor(service: RunService, store: DatasetStore, boss: PgBoss, opts: WorkerOptions = {}) {
    this.#service = service;
    this.#store = store;
    this.#boss = boss;
    this.#opts = opts;
  }

  async start(): Promise<void> {
    await this.#boss.work<RunJob>(RUN_QUEUE, {
      batchSize: 1,
      localConcurrency: this.#opts.concurrency ?? 1,
      pollingIntervalSeconds: this.#opts.pollingIntervalSeconds ?? 0.5,
    }, async ([job]) => await this.execute(job.data.runId));
    this.#started = true;
  }

  /** Aborts running runs (they become FAILED "interrupted") and stops taking jobs. */
  async stop(): Promise<void> {
    const local = [...this.#service.local.values()];
    for (const r of local) r.controller.abort(SHUTDOWN);
    await Promise.all(local.map((r) => r.done));
    if (this.#started) await this.#boss.offWork(RUN_QUEUE, { wait: false });
    this.#started = false;
  }

  /** Executes one run if it is still QUEUED. Never throws for the run's own failures. */
  async execute(runId: number): Promise<void> {
    const service = this.#service;
    if (service.local.has(runId)) return;
    const controller = new AbortController();
    let settle!: () => void;
    const done = new Promise<void>((r) => settle = r);
    // Registered before the claim, so a cancel between the two finds it.
    service.local.set(runId, { controller, done });
    const t0 = performance.now();
    try {
      const run = await service.claim(runId);
      if (!run) return;
      try {
        const timings = await this.#run(run, controller.signal);
        const wallSeconds = (performance.now() - t0) / 1000;
        await service.finish(runId, ["RUNNING"], "SUCCEEDED", null, { ...timings, wallSeconds });
      } catch (e) {
        const wallSeconds = (performance.now() - t0) / 1000;
        const timings = { selectionSeconds: 0, trainSeconds: 0, wallSeconds };
        if (controller.signal.aborted && (e instanceof CancelledError || e === controller.signal.reason)) {
          const shutdown = controller.signal.reason === SHUTDOWN;
          await service.finish(
            runId,
            ["RUNNING"],
            shutdown ? "FAILED" : "CANCELLED",
            shutdown ? "interrupted" : null,
            timings,
          );
        } else {
          const message = e instanceof GradsiftError
            ? `${e.message} [${e.code}]`
            : `internal error: ${e instanceof Error ? e.message : e}`;
          if (!(e instanceof GradsiftError)) console.error(`gradsift: run ${runId} failed:`, e);
          await service.finish(runId, ["RUNNING"], "FAILED", message, timings);
        }
      }
    } finally {
      service.local.delete(runId);
      settle();
    }
  }

  async #run(run: RunRow, signal: AbortSignal): Promise<{ selectionSeconds: number; trainSeconds: number }> {
    const service = this.#service;
    const p = run.params as unknown as RunParams;
    const ds = await service.dataset(run.datasetId);
    const data = await this.#store.get(ds.name);
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
      await service.recordSubset(run.id, s, train.labels);
      return { selectionSeconds: s.seconds, trainSeconds: 0 };
    }
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
      onEpoch: (e) => service.recordEpoch(run.id, e, p.epochs),
      // CREST reports subsets without awaiting them: keep a failure for the end instead of losing it.
      onSubset: async (s) => {
        try {
          await service.recordSubset(run.id, s, train.labels);
        } catch (e) {
          recordError ??= e;
        }
      },
    });
    if (recordError) throw recordError;
    return { selectionSeconds: r.selectionSeconds, trainSeconds: r.trainSeconds };
  }
}
