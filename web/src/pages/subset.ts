/// <reference lib="dom" />
/**
 * Subset browser: the samples a subset chose, grouped by class, heaviest first, with their weights;
 * and the subset's class counts against the dataset's. Members come from `Subset.samples(orderBy:
 * WEIGHT_DESC)` in pages of 500; their images from one `Dataset.samples(indices: …)` read per page.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { gql } from "../api.ts";
import { ClassBars, type Thumb, ThumbGrid, type ThumbImage } from "../thumbs.ts";
import { asApiError, int, mark, secs, useQuery } from "../util.ts";

const PAGE = 500;

interface Info {
  run: {
    id: string;
    strategy: string;
    budget: string;
    dataset: {
      id: string;
      name: string;
      numTrain: number;
      classCounts: number[];
      classNames: string[] | null;
    };
  };
  node: { round: number; epoch: number; size: number; seconds: number; classCounts: number[] } | null;
}
type Member = { index: number; label: number; weight: number };
type MemberPage = {
  node: {
    samples: { edges: { node: Member }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  };
};
type Images = { dataset: { samples: { edges: { node: { index: number; image: ThumbImage } }[] } } };

const MEMBERS = `query($id: ID!, $after: String) { node(id: $id) { ... on Subset {
  samples(first: ${PAGE}, after: $after, orderBy: WEIGHT_DESC) { edges { node { index label weight } }
  pageInfo { hasNextPage endCursor } } } } }`;
const IMAGES = `query($d: ID!, $idx: [Int!]) { dataset(id: $d) {
  samples(indices: $idx, first: ${PAGE}) { edges { node { index image { width height pixels } } } } } }`;

export function SubsetPage({ runId, subsetId }: { runId: string; subsetId: string }) {
  const info = useQuery<Info>(
    `query($r: ID!, $s: ID!) {
      run(id: $r) { id strategy budget dataset { id name numTrain classCounts classNames } }
      node(id: $s) { ... on Subset { round epoch size seconds classCounts } } }`,
    { r: runId, s: subsetId },
  );
  const [members, setMembers] = useState<(Member & { image: ThumbImage })[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const datasetId = info.data?.run.dataset.id;

  const load = async (after: string | null, have: (Member & { image: ThumbImage })[]) => {
    setBusy(true);
    try {
      const page = await gql<MemberPage>(MEMBERS, { id: subsetId, after });
      const ms = page.node.samples.edges.map((e) => e.node);
      const imgs = await gql<Images>(IMAGES, { d: datasetId, idx: ms.map((m) => m.index) });
      const byIndex = new Map(imgs.dataset.samples.edges.map((e) => [e.node.index, e.node.image]));
      setMembers(have.concat(ms.map((m) => ({ ...m, image: byIndex.get(m.index)! }))));
      setCursor(page.node.samples.pageInfo.endCursor);
      setMore(page.node.samples.pageInfo.hasNextPage);
      requestAnimationFrame(() =>
        setTimeout(() => mark("subset-rendered", { count: have.length + ms.length }))
      );
    } catch (e) {
      setError(asApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (datasetId) load(null, []);
  }, [datasetId, subsetId]);

  if (info.error) return html`<p class="error">${info.error.message}</p>`;
  const d = info.data;
  if (!d) return html`<p class="muted">loading…</p>`;
  if (!d.node) return html`<p class="error">no subset ${subsetId}</p>`;
  const s = d.node;
  const ds = d.run.dataset;
  const name = (l: number) => ds.classNames?.[l] ?? `class ${l}`;
  const classes = [...new Set(members.map((m) => m.label))].sort((a, b) => a - b);
  return html`<section>
    <h1>Subset, round ${s.round}</h1>
    <p><a href=${`#/runs/${d.run.id}`}>${d.run.strategy} run</a> on ${ds.name}: ${int(s.size)} of ${
    int(ds.numTrain)
  } samples (budget ${d.run.budget}), first trained on in epoch ${s.epoch}, selected in ${
    secs(s.seconds)
  }.</p>
    <h2>Class counts: subset vs dataset</h2>
    <${ClassBars} counts=${s.classCounts} compare=${ds.classCounts} names=${ds.classNames} compareLabel="in the dataset" />
    ${error ? html`<p class="error">${error}</p>` : null}
    <h2>Samples by class, heaviest first</h2>
    <p class="muted" data-testid="subset-count">showing ${int(members.length)} of ${int(s.size)}${
    busy ? " · loading…" : ""
  }</p>
    <div data-testid="subset-classes">
    ${
    classes.map((l) => {
      const items: Thumb[] = members.filter((m) => m.label === l).map((m) => ({
        key: m.index,
        image: m.image,
        title: `#${m.index} · ${name(l)} · weight ${m.weight.toPrecision(4)}`,
        caption: m.weight.toPrecision(3),
      }));
      return html`
        <div class="class-group">
          <h3>${name(l)} <small class="muted">${items.length} shown of ${s.classCounts[l]}</small></h3>
          <${ThumbGrid} items=${items} />
        </div>
      `;
    })
  }
    </div>
    ${more && !busy ? html`<button onClick=${() => load(cursor, members)}>show ${PAGE} more</button>` : null}
  </section>`;
}
