/// <reference lib="dom" />
/**
 * A run, live: status, progress, test accuracy and loss per epoch (growing as `runEvents` arrive over
 * graphql-ws), the newest finished Full and Random runs of the same dataset overlaid, selection vs
 * training time, its subsets (links to the subset browser), and a cancel button.
 *
 * First paint needs one query (the run with its epochs); the baselines come in a second query and the
 * subscription starts only for a run still QUEUED or RUNNING. Each chart update is measured from the
 * WebSocket message to uPlot's redraw, and logged as a "chart-update" performance mark.
 */
import { html } from "htm/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { gql, subscribe, wire } from "../api.ts";
import { align, Chart, type Series } from "../chart.ts";
import { asApiError, COLORS, mark, pct, secs, useQuery } from "../util.ts";

export interface Epoch {
  epoch: number;
  trainLoss: number;
  testLoss: number | null;
  testAccuracy: number | null;
  seconds: number;
  selectionSeconds: number;
  trainSeconds: number;
  subsetSize: number;
}
interface SubsetInfo {
  id: string;
  round: number;
  epoch: number;
  size: number;
  seconds: number;
}
interface Run {
  id: string;
  kind: string;
  status: string;
  strategy: string;
  budget: string;
  model: string;
  params: { epochs?: number; [k: string]: unknown };
  progress: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timings: { selectionSeconds: number; trainSeconds: number; wallSeconds: number } | null;
  dataset: { id: string; name: string; numTrain: number };
  epochs: Epoch[];
  subsets: SubsetInfo[];
}
interface Baseline {
  id: string;
  strategy: string;
  budget: string;
  params: { limit?: number; model?: string };
  epochs: { epoch: number; testAccuracy: number | null; testLoss: number | null }[];
}

export const EPOCH_FIELDS =
  "epoch trainLoss testLoss testAccuracy seconds selectionSeconds trainSeconds subsetSize";
const SUBSET_FIELDS = "id round epoch size seconds";
const RUN = `query($id: ID!) { run(id: $id) { id kind status strategy budget model params progress error
  createdAt startedAt finishedAt timings { selectionSeconds trainSeconds wallSeconds }
  dataset { id name numTrain } epochs { ${EPOCH_FIELDS} } subsets { ${SUBSET_FIELDS} } } }`;
const BASELINES =
  `query($d: ID!) { runs(filter: { datasetId: $d, status: [SUCCEEDED], kind: TRAINING }, first: 50) {
  edges { node { id strategy budget params epochs { epoch testAccuracy testLoss } } } } }`;
const EVENTS = `subscription($id: ID!) { runEvents(id: $id) { __typename
  ... on StatusChanged { status error at }
  ... on EpochCompleted { epoch { ${EPOCH_FIELDS} } }
  ... on SubsetSelected { subset { ${SUBSET_FIELDS} } } } }`;

type Event =
  | { __typename: "StatusChanged"; status: string; error: string | null; at: string }
  | { __typename: "EpochCompleted"; epoch: Epoch }
  | { __typename: "SubsetSelected"; subset: SubsetInfo };

const LIVE = ["QUEUED", "RUNNING"];

/** Latencies (ms) from a WebSocket message to the redraw it caused, for the browser test. */
const perf = ((globalThis as unknown as { __dashboard?: { chartUpdates: number[] } }).__dashboard ??= {
  chartUpdates: [],
});

/**
 * The run: one query, then (while it is QUEUED or RUNNING) `runEvents` applied as they arrive. `msgAt`
 * is when the WebSocket message of the latest epoch arrived, for the chart-update measurement.
 */
function useLiveRun(id: string) {
  const q = useQuery<{ run: Run }>(RUN, { id });
  const [run, setRun] = useState<Run | null>(null);
  const [msgAt, setMsgAt] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setRun(q.data?.run ?? null), [q.data]);
  const live = !!run && LIVE.includes(run.status);
  useEffect(() => {
    if (!live) return;
    return subscribe<{ runEvents: Event }>(EVENTS, { id }, {
      next: ({ runEvents: e }) => {
        const at = wire.lastMessageAt;
        setRun((r) => r && apply(r, e));
        if (e.__typename === "EpochCompleted") setMsgAt(at);
        // The final timings and progress come with the run itself.
        if (e.__typename === "StatusChanged" && !LIVE.includes(e.status)) q.reload();
      },
      error: (e) => setError(e.message),
    });
  }, [id, live]);
  return { run, setRun, loadError: q.error, reload: q.reload, error, setError, msgAt, setMsgAt };
}

/** The newest finished Full and Random runs on the same samples (same `limit`) with the same model. */
function pickBaselines(all: Baseline[], run: Run): Baseline[] {
  const same = all.filter((b) =>
    b.id !== run.id && b.params.limit === run.params.limit && b.params.model === run.params.model
  );
  const full = same.find((b) => b.strategy === "full");
  // A Random run of this run's budget before any other.
  const random = same.find((b) => b.strategy === "random" && b.budget === run.budget) ??
    same.find((b) => b.strategy === "random");
  return [full, random].filter((b): b is Baseline => !!b);
}

export function RunPage({ id }: { id: string }) {
  const { run, setRun, loadError, reload, error, setError, msgAt, setMsgAt } = useLiveRun(id);
  const [cancelling, setCancelling] = useState(false);
  const base = useQuery<{ runs: { edges: { node: Baseline }[] } }>(BASELINES, { d: run?.dataset.id }, !run);
  const baselines = useMemo(
    () => run ? pickBaselines(base.data?.runs.edges.map((e) => e.node) ?? [], run) : [],
    [base.data, run?.id, run?.budget],
  );
  const charts = useMemo(() => run && chartData(run, baselines), [run?.epochs, baselines]);

  useEffect(() => {
    if (run) {
      requestAnimationFrame(() => setTimeout(() => mark("run-page-painted", { epochs: run.epochs.length })));
    }
  }, [run !== null]);

  const cancel = async () => {
    setCancelling(true);
    setError(null);
    try {
      const r = await gql<{ cancelRun: { run: { status: string } } }>(
        `mutation($id: ID!) { cancelRun(id: $id) { run { status } } }`,
        { id },
      );
      setRun((x) => x && { ...x, status: r.cancelRun.run.status });
      reload();
    } catch (e) {
      setError(asApiError(e).message);
    } finally {
      setCancelling(false);
    }
  };

  if (loadError && !run) return html`<p class="error">${loadError.message}</p>`;
  if (!run || !charts) return html`<p class="muted">loading…</p>`;
  const total = run.params.epochs ?? 0;
  const progress = run.kind === "TRAINING" && total
    ? Math.max(run.progress, run.epochs.length / total)
    : run.progress;
  const last = run.epochs.at(-1);
  // A run stopped early may have no timings of its own yet: the last epoch's cumulative times then.
  const selS = Math.max(run.timings?.selectionSeconds ?? 0, last?.selectionSeconds ?? 0);
  const trainS = Math.max(run.timings?.trainSeconds ?? 0, last?.trainSeconds ?? 0);
  const onDrawn = (calledAt: number) => {
    if (!msgAt) return;
    const from = msgAt;
    setMsgAt(0);
    // The frame that shows the redrawn canvas: the update is on screen when this callback runs.
    requestAnimationFrame(() => {
      const ms = performance.now() - from;
      perf.chartUpdates.push(ms);
      mark("chart-update", { ms, sinceSetData: performance.now() - calledAt, epochs: run.epochs.length });
    });
  };
  // Epochs 1 … total from the start, so a live chart fills in rather than rescaling with every point.
  const xRange: [number, number] | undefined = total > 1 ? [1, total] : undefined;
  const training = run.kind === "TRAINING";
  // A selection run trains only its warm-up epochs (features from a fresh model when there are none).
  const warm = Number(run.params.warmEpochs ?? 0);
  const schedule = training ? `${total} epochs` : `${warm} warm-up epoch${warm === 1 ? "" : "s"}`;
  const time = (d: string | null) => d ? new Date(d).toLocaleTimeString() : "—";

  return html`<section>
    <h1>${run.strategy} ${run.kind === "TRAINING" ? "training" : "selection"} run
      <span class=${`status ${run.status}`} data-testid="run-status">${run.status}</span></h1>
    <p>${run.model} on <a href=${`#/datasets/${run.dataset.id}`}>${run.dataset.name}</a>, ${
    run.strategy === "full" ? "all samples" : `budget ${run.budget}`
  }, ${`${schedule} · started ${time(run.startedAt)}`}${
    run.finishedAt ? ` · finished ${time(run.finishedAt)}` : ""
  }</p>
    ${run.error ? html`<p class="error">${run.error}</p>` : null}
    ${error ? html`<p class="error">${error}</p>` : null}
    <div class="progress" title=${pct(progress, 0)}><div style=${`width:${
    (100 * progress).toFixed(1)
  }%`}></div></div>
    <p class="muted" data-testid="epoch-count">${
    training ? `${run.epochs.length} / ${total} epochs · ` : ""
  }${pct(progress, 0)}${last ? ` · test accuracy ${pct(last.testAccuracy)}` : ""}</p>
    ${
    LIVE.includes(run.status)
      ? html`<button class="danger" onClick=${cancel} disabled=${cancelling} data-testid="cancel">${
        cancelling ? "cancelling…" : "Cancel run"
      }</button>`
      : null
  }
    ${
    run.kind === "TRAINING"
      ? html`
        <div class="charts">
          <${Chart} title="Test accuracy" xLabel="epoch" yLabel="accuracy (%)" series=${charts.accSeries}
            data=${charts.acc} onDrawn=${onDrawn} testId="acc-chart" integerX=${true} xRange=${xRange} />
          <${Chart} title="Loss" xLabel="epoch" yLabel="loss" series=${charts.lossSeries} data=${charts.loss}
            testId="loss-chart" integerX=${true} xRange=${xRange} />
        </div>
      `
      : null
  }
    <h2>Time</h2>
    <${TimeSplit} selection=${selS} training=${trainS} wall=${run.timings?.wallSeconds ?? null} />
    <h2>Subsets</h2>
    <${SubsetTable} run=${run} />
  </section>`;
}

function SubsetTable({ run }: { run: Run }) {
  if (!run.subsets.length) {
    return html`<p class="muted">none ${run.strategy === "full" ? "(Full trains on everything)" : "yet"}</p>`;
  }
  return html`
    <table class="list" data-testid="subsets">
      <thead>
        <tr>
          <th>round</th>
          <th class="num">first epoch</th>
          <th class="num">size</th>
          <th class="num">selection time</th>
          <th></th>
        </tr>
      </thead>
      <tbody>${run.subsets.map((s) =>
        html`
          <tr>
            <td>${s.round}</td>
            <td class="num">${s.epoch}</td>
            <td class="num">${s.size}</td>
            <td class="num">${secs(s.seconds)}</td>
            <td><a href=${`#/runs/${run.id}/subsets/${s.id}`}>browse</a></td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

function TimeSplit(
  { selection, training, wall }: { selection: number; training: number; wall: number | null },
) {
  const sum = selection + training || 1;
  const width = (x: number) => `width:${(100 * x / sum).toFixed(1)}%`;
  return html`
    <div class="split" data-testid="time-split">
      <div class="sel" style=${width(selection)}></div>
      <div class="train" style=${width(training)}></div>
    </div>
    <p class="muted">
          <span class="key sel"></span>${` selection ${
            secs(selection)
          } · `}<span class="key train"></span>${` training ${secs(training)}${
            wall != null ? ` · wall ${secs(wall)}` : ""
          }`}
        </p>
  `;
}

/** Applies one event to the run (events replay the stored state first, so duplicates are skipped). */
function apply(r: Run, e: Event): Run {
  if (e.__typename === "StatusChanged") {
    const startedAt = r.startedAt ?? (e.status === "RUNNING" ? e.at : null);
    return { ...r, status: e.status, error: e.error, startedAt };
  }
  if (e.__typename === "EpochCompleted") {
    if (r.epochs.some((x) => x.epoch === e.epoch.epoch)) return r;
    return { ...r, epochs: [...r.epochs, e.epoch].sort((a, b) => a.epoch - b.epoch) };
  }
  if (r.subsets.some((x) => x.id === e.subset.id)) return r;
  return { ...r, subsets: [...r.subsets, e.subset] };
}

function chartData(run: Run, baselines: Baseline[]) {
  const xs = run.epochs.map((e) => e.epoch);
  const percent = (v: number | null) => v == null ? null : 100 * v;
  const accSeries: Series[] = [{ label: `${run.strategy} (this run)`, color: COLORS[0] }];
  const accTables: [number[], (number | null)[]][] = [[xs, run.epochs.map((e) => percent(e.testAccuracy))]];
  const lossSeries: Series[] = [
    { label: "train loss", color: COLORS[0] },
    { label: "test loss", color: COLORS[3] },
  ];
  const lossTables: [number[], (number | null)[]][] = [
    [xs, run.epochs.map((e) => e.trainLoss)],
    [xs, run.epochs.map((e) => e.testLoss)],
  ];
  baselines.forEach((b, i) => {
    const bx = b.epochs.map((e) => e.epoch);
    const color = b.strategy === "full" ? COLORS[1] : COLORS[2];
    const dash = i === 0 ? [6, 4] : [2, 3];
    accSeries.push({
      label: `${b.strategy} ${b.strategy === "full" ? "" : b.budget}`.trim(),
      color,
      dash,
      points: false,
    });
    accTables.push([bx, b.epochs.map((e) => percent(e.testAccuracy))]);
    lossSeries.push({ label: `${b.strategy} test loss`, color, dash, points: false });
    lossTables.push([bx, b.epochs.map((e) => e.testLoss)]);
  });
  return { accSeries, acc: align(accTables), lossSeries, loss: align(lossTables) };
}
