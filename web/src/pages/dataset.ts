/// <reference lib="dom" />
/**
 * A dataset: sizes, class histogram, and a grid of its training samples rendered from the stored
 * features, filterable by class. Loads 1,000 thumbnails (two pages of 500) and more on request.
 */
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api.ts";
import { ClassBars, type Thumb, ThumbGrid, type ThumbImage } from "../thumbs.ts";
import { asApiError, int, mark, useQuery } from "../util.ts";
import { DATASET_FIELDS, type DatasetInfo } from "./home.ts";

const PAGE = 500;
const INITIAL = 1000;

type Page = {
  dataset: {
    samples: {
      totalCount: number;
      edges: { node: { index: number; label: number; image: ThumbImage } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
};

const SAMPLES = `query($id: ID!, $first: Int, $after: String, $label: Int) { dataset(id: $id) {
  samples(first: $first, after: $after, label: $label) { totalCount
    edges { node { index label image { width height pixels } } } pageInfo { hasNextPage endCursor } } } }`;

export function DatasetPage({ id }: { id: string }) {
  const ds = useQuery<{ dataset: DatasetInfo }>(
    `query($id: ID!) { dataset(id: $id) { ${DATASET_FIELDS} } }`,
    {
      id,
    },
  );
  const [label, setLabel] = useState<number | null>(null);
  const [items, setItems] = useState<Thumb[]>([]);
  const [total, setTotal] = useState(0);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fetched = useRef({ t0: 0, at: 0 });
  // Only the latest load may set the grid: switching class while a load is in flight drops the old one.
  const latest = useRef(0);
  const d = ds.data?.dataset;
  const name = (l: number) => d?.classNames?.[l] ?? `class ${l}`;

  const load = async (after: string | null, want: number, base: Thumb[]) => {
    const mine = ++latest.current;
    const current = () => mine === latest.current;
    setBusy(true);
    setError(null);
    const t0 = performance.now();
    try {
      let got = base;
      let next = after;
      let hasNext = true;
      while (got.length - base.length < want && hasNext) {
        const r = await gql<Page>(SAMPLES, { id, first: PAGE, after: next, label });
        if (!current()) return;
        const s = r.dataset.samples;
        got = got.concat(s.edges.map(({ node: n }) => ({
          key: n.index,
          image: n.image,
          title: `#${n.index} · ${name(n.label)}`,
        })));
        setTotal(s.totalCount);
        next = s.pageInfo.endCursor;
        hasNext = s.pageInfo.hasNextPage;
      }
      fetched.current = { t0, at: performance.now() };
      setItems(got);
      setCursor(next);
      setMore(hasNext);
    } catch (e) {
      if (current()) setError(asApiError(e).message);
    } finally {
      if (current()) setBusy(false);
    }
  };

  useEffect(() => {
    if (d?.status === "READY") load(null, INITIAL, []);
  }, [d?.status, label]);

  // After the frame that shows the last batch: fetch and render times for the browser test.
  const rendered = () => {
    const { t0, at } = fetched.current;
    if (!at) return;
    fetched.current = { t0, at: 0 };
    requestAnimationFrame(() =>
      setTimeout(() =>
        mark("thumbs-rendered", {
          count: items.length,
          fetchMs: at - t0,
          renderStart: at,
          renderMs: performance.now() - at,
        })
      )
    );
  };

  if (ds.error) return html`<p class="error">${ds.error.message}</p>`;
  if (!d) return html`<p class="muted">loading…</p>`;
  return html`<section>
    <h1>${d.name} <span class=${`status ${d.status}`}>${d.status}</span></h1>
    <p>${int(d.numTrain)} training and ${int(d.numTest)} test samples of shape ${
    d.inputShape.join("×")
  }, ${d.numClasses} classes. <a href=${`#/new?dataset=${d.id}`}>Start a run on it</a>.</p>
    ${d.status === "READY" ? html`<${ClassBars} counts=${d.classCounts} names=${d.classNames} />` : null}
    <h2>Samples</h2>
    <div class="filters" data-testid="class-filter">
      <button class=${label === null ? "on" : ""} onClick=${() => setLabel(null)}>all</button>
      ${
    d.classCounts.map((_, l) =>
      html`<button class=${label === l ? "on" : ""} onClick=${() => setLabel(l)}>${name(l)}</button>`
    )
  }
    </div>
    ${error ? html`<p class="error">${error}</p>` : null}
    <p class="muted" data-testid="thumb-count">showing ${int(items.length)} of ${int(total)}${
    label === null ? "" : ` in ${name(label)}`
  }${busy ? " · loading…" : ""}</p>
    <${ThumbGrid} items=${items} testId="thumbs" onDone=${rendered} />
    ${
    more && !busy ? html`<button onClick=${() => load(cursor, PAGE, items)}>show ${PAGE} more</button>` : null
  }
  </section>`;
}
