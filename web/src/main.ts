/// <reference lib="dom" />
/**
 * The gradsift dashboard: a Preact + htm single page app served by `gradsift serve` at `/`, talking to
 * the service only through /graphql. Hash routes:
 *   #/                         datasets and runs
 *   #/datasets/:id             a dataset's samples
 *   #/new?dataset=:id          start a run
 *   #/runs/:id                 a run, live
 *   #/runs/:id/subsets/:sid    subset browser
 *   #/compare?runs=a,b         compare finished runs
 */
import { html } from "htm/preact";
import { render } from "preact";
import { ComparePage } from "./pages/compare.ts";
import { DatasetPage } from "./pages/dataset.ts";
import { Home } from "./pages/home.ts";
import { NewRun } from "./pages/new_run.ts";
import { RunPage } from "./pages/run.ts";
import { SubsetPage } from "./pages/subset.ts";
import { useRoute } from "./util.ts";

function Page() {
  const { path, query } = useRoute();
  const p = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (p[0] === "datasets" && p[1]) return html`<${DatasetPage} key=${p[1]} id=${p[1]} />`;
  if (p[0] === "new") return html`<${NewRun} dataset=${query.get("dataset")} />`;
  if (p[0] === "runs" && p[1] && p[2] === "subsets" && p[3]) {
    return html`<${SubsetPage} key=${p[3]} runId=${p[1]} subsetId=${p[3]} />`;
  }
  if (p[0] === "runs" && p[1]) return html`<${RunPage} key=${p[1]} id=${p[1]} />`;
  if (p[0] === "compare") {
    return html`<${ComparePage} ids=${(query.get("runs") ?? "").split(",").filter(Boolean)} />`;
  }
  return html`<${Home} />`;
}

function App() {
  return html`
    <header><a class="brand" href="#/">gradsift</a>
        <nav><a href="#/">Datasets & runs</a><a href="#/new">Start a run</a><a href="#/compare">Compare</a>
          <a href="/graphql" target="_blank">GraphiQL</a></nav></header>
    <main>
      <${Page} />
    </main>
  `;
}

render(html`<${App} />`, document.getElementById("app")!);
