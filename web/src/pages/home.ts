/// <reference lib="dom" />
/** Home: the datasets with their sizes and class histograms, and the latest runs. */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, gql } from "../api.ts";
import { int, pct, secs, useQuery } from "../util.ts";

export interface DatasetInfo {
  id: string;
  name: string;
  status: string;
  error: string | null;
  numTrain: number;
  numTest: number;
  numClasses: number;
  inputShape: number[];
  classCounts: number[];
  classNames: string[] | null;
}

const POLL_MS = 3000;

export const DATASET_FIELDS =
  "id name status error numTrain numTest numClasses inputShape classCounts classNames";

function Histogram({ counts, names }: { counts: number[]; names: string[] | null }) {
  const max = Math.max(1, ...counts);
  return html`<div class="hist" title="training samples per class">
    ${
    counts.map((c, i) =>
      html`<span style=${`height:${(100 * c / max).toFixed(0)}%`} title=${`${names?.[i] ?? i}: ${c}`}></span>`
    )
  }
  </div>`;
}

interface RunRow {
  id: string;
  kind: string;
  status: string;
  strategy: string;
  budget: string;
  progress: number;
  createdAt: string;
  dataset: { name: string };
  timings: { wallSeconds: number } | null;
  epochs: { testAccuracy: number | null }[];
}

export function Home() {
  const ds = useQuery<{ datasets: { edges: { node: DatasetInfo }[] } }>(
    `{ datasets(first: 100) { edges { node { ${DATASET_FIELDS} } } } }`,
    {},
  );
  const runs = useQuery<{ runs: { totalCount: number; edges: { node: RunRow }[] } }>(
    `{ runs(first: 30) { totalCount edges { node { id kind status strategy budget progress createdAt
       dataset { name } timings { wallSeconds } epochs { testAccuracy } } } } }`,
    {},
  );
  // While a run is live or a dataset importing, refresh both lists every few seconds.
  const live = runs.data?.runs.edges.some((e) => ["QUEUED", "RUNNING"].includes(e.node.status)) ||
    ds.data?.datasets.edges.some((e) => e.node.status === "IMPORTING");
  useEffect(() => {
    if (!live) return;
    const h = setInterval(() => {
      ds.reload();
      runs.reload();
    }, POLL_MS);
    return () => clearInterval(h);
  }, [live]);
  const [importName, setImportName] = useState("");
  const [importError, setImportError] = useState<string | null>(null);
  const doImport = async (e: Event) => {
    e.preventDefault();
    setImportError(null);
    try {
      await gql(`mutation($n: String!) { importDataset(input: { name: $n }) { dataset { id } } }`, {
        n: importName,
      });
      setImportName("");
      ds.reload();
    } catch (err) {
      setImportError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return html`<section>
    <h1>Datasets</h1>
    ${ds.error ? html`<p class="error">${ds.error.message}</p>` : null}
    <table class="list" data-testid="datasets">
      <thead><tr><th>name</th><th>status</th><th class="num">train</th><th class="num">test</th>
        <th>shape</th><th class="num">classes</th><th>class histogram</th><th></th></tr></thead>
      <tbody>
      ${
    ds.data?.datasets.edges.map(({ node: d }) =>
      html`
        <tr>
          <td><a href=${`#/datasets/${d.id}`}>${d.name}</a></td>
          <td><span class=${`status ${d.status}`}>${d.status}</span>${d.error
            ? html`
              <span class="error">${d.error}</span>
            `
            : null}</td>
          <td class="num">${int(d.numTrain)}</td>
          <td class="num">${int(d.numTest)}</td>
          <td>${d.inputShape.join("×")}</td>
          <td class="num">${d.numClasses}</td>
          <td>${d.status === "READY"
            ? html`<${Histogram} counts=${d.classCounts} names=${d.classNames} />`
            : null}</td>
          <td>${d.status === "READY" ? html`<a href=${`#/new?dataset=${d.id}`}>start a run</a>` : null}</td>
        </tr>
      `
    )
  }
      </tbody>
    </table>
    <form class="inline" onSubmit=${doImport}>
      <label>Import a built-in <input size="34" value=${importName} placeholder="fashion-mnist or blobs-600-16-4-1"
        onInput=${(e: Event) => setImportName((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" disabled=${!importName}>Import</button>
      <button type="button" onClick=${() => ds.reload()}>Refresh</button>
      ${importError ? html`<span class="error">${importError}</span>` : null}
    </form>

    <h1>Runs <small class="muted">${runs.data ? `${runs.data.runs.totalCount} in all` : ""}</small></h1>
    ${runs.error ? html`<p class="error">${runs.error.message}</p>` : null}
    <table class="list" data-testid="runs">
      <thead><tr><th>run</th><th>dataset</th><th>kind</th><th>strategy</th><th>budget</th><th>status</th>
        <th class="num">progress</th><th class="num">test accuracy</th><th class="num">wall time</th></tr></thead>
      <tbody>
      ${
    runs.data?.runs.edges.map(({ node: r }) =>
      html`
        <tr>
          <td><a href=${`#/runs/${r.id}`}>${new Date(r.createdAt).toLocaleString()}</a></td>
          <td>${r.dataset.name}</td>
          <td>${r.kind.toLowerCase()}</td>
          <td>${r.strategy}</td>
          <td>${r.strategy === "full" ? "all" : r.budget}</td>
          <td><span class=${`status ${r.status}`}>${r.status}</span></td>
          <td class="num">${pct(r.progress, 0)}</td>
          <td class="num">${pct(r.epochs.at(-1)?.testAccuracy)}</td>
          <td class="num">${secs(r.timings?.wallSeconds)}</td>
        </tr>
      `
    )
  }
      </tbody>
    </table>
  </section>`;
}
