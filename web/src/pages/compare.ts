/// <reference lib="dom" />
/**
 * Compare finished training runs: a table of final test accuracy, relative error vs the newest Full
 * run of the same dataset ((acc_full − acc) / acc_full), speed-up (Full's wall time / the run's) and
 * times; and test accuracy against elapsed time (cumulative selection + training seconds per epoch).
 */
import { html } from "htm/preact";
import { useMemo, useState } from "preact/hooks";
import { align, Chart } from "../chart.ts";
import { COLORS, pct, secs, useQuery } from "../util.ts";

interface Finished {
  id: string;
  strategy: string;
  budget: string;
  model: string;
  params: { epochs?: number; limit?: number };
  createdAt: string;
  dataset: { id: string; name: string };
  timings: { selectionSeconds: number; trainSeconds: number; wallSeconds: number } | null;
  epochs: { epoch: number; testAccuracy: number | null; selectionSeconds: number; trainSeconds: number }[];
}

const RUNS = `{ runs(filter: { status: [SUCCEEDED], kind: TRAINING }, first: 100) { edges { node {
  id strategy budget model params createdAt dataset { id name } timings { selectionSeconds trainSeconds wallSeconds }
  epochs { epoch testAccuracy selectionSeconds trainSeconds } } } } }`;

export function ComparePage({ ids }: { ids: string[] }) {
  const q = useQuery<{ runs: { edges: { node: Finished }[] } }>(RUNS, {});
  const [picked, setPicked] = useState<Set<string>>(new Set(ids));
  const runs = q.data?.runs.edges.map((e) => e.node) ?? [];
  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
    history.replaceState(null, "", `#/compare?runs=${[...next].join(",")}`);
  };
  const chosen = runs.filter((r) => picked.has(r.id));
  const fullOf = (r: Finished) => runs.find((x) => x.strategy === "full" && x.dataset.id === r.dataset.id);
  const acc = (r: Finished) => r.epochs.at(-1)?.testAccuracy ?? null;
  const label = (r: Finished) => `${r.strategy} ${r.strategy === "full" ? "" : r.budget} · ${r.dataset.name}`;
  const plot = useMemo(() => ({
    series: chosen.map((r, i) => ({ label: label(r), color: COLORS[i % COLORS.length] })),
    data: align(chosen.map((r) => [
      r.epochs.map((e) => Number((e.selectionSeconds + e.trainSeconds).toFixed(3))),
      r.epochs.map((e) => e.testAccuracy == null ? null : 100 * e.testAccuracy),
    ])),
  }), [q.data, picked]);

  if (q.error) return html`<p class="error">${q.error.message}</p>`;
  return html`<section>
    <h1>Compare runs</h1>
    <p class="muted">Finished training runs; tick the ones to compare. Relative error is against the newest Full
      run of the same dataset.</p>
    <table class="list" data-testid="compare-table">
      <thead><tr><th></th><th>run</th><th>dataset</th><th>strategy</th><th>budget</th><th class="num">epochs</th>
        <th class="num">test accuracy</th>
        <th class="num">relative error vs Full</th><th class="num">speed-up vs Full</th><th class="num">selection</th>
        <th class="num">training</th><th class="num">wall</th></tr></thead>
      <tbody>
      ${
    runs.map((r) => {
      const full = fullOf(r);
      const a = acc(r), fa = full ? acc(full) : null;
      const relErr = a != null && fa ? (fa - a) / fa : null;
      const speed = r.timings && full?.timings ? full.timings.wallSeconds / r.timings.wallSeconds : null;
      return html`
        <tr class=${picked.has(r.id) ? "picked" : ""}>
          <td><input type="checkbox" checked=${picked.has(r.id)} onChange=${() => toggle(r.id)} /></td>
          <td><a href=${`#/runs/${r.id}`}>${new Date(r.createdAt).toLocaleString()}</a></td>
          <td>${r.dataset.name}</td>
          <td>${r.strategy}</td>
          <td>${r.strategy === "full" ? "all" : r.budget}</td>
          <td class="num">${r.params.epochs ?? "—"}${r.params.limit ? ` (first ${r.params.limit})` : ""}</td>
          <td class="num">${pct(a)}</td>
          <td class="num">${r.strategy === "full" ? "—" : relErr == null ? "no Full run" : pct(relErr)}</td>
          <td class="num">${r.strategy === "full" || speed == null ? "—" : `${speed.toFixed(2)}×`}</td>
          <td class="num">${secs(r.timings?.selectionSeconds)}</td>
          <td class="num">${secs(r.timings?.trainSeconds)}</td>
          <td class="num">${secs(r.timings?.wallSeconds)}</td>
        </tr>
      `;
    })
  }
      </tbody>
    </table>
    ${
    chosen.length
      ? html`
        <${Chart} title="Test accuracy vs elapsed time" xLabel="seconds (selection + training)"
          yLabel="accuracy (%)" series=${plot.series} data=${plot.data} testId="compare-chart" />
      `
      : html`<p class="muted">pick runs to plot accuracy against time</p>`
  }
  </section>`;
}
