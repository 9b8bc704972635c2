/// <reference lib="dom" />
/**
 * Start a training or selection run. Values go to the API as typed (a number field holding "abc" is
 * sent as that text), so every check is the API's own, and each error message is shown next to the
 * field it names (by the first field name in the message or its GraphQL path), else above the form.
 */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { ApiError, gql, type GqlError } from "../api.ts";
import { useQuery } from "../util.ts";
import type { DatasetInfo } from "./home.ts";

const STRATEGIES = ["full", "random", "gradmatch", "craig", "crest", "nfg"];

/** Option fields (RunOptions) shown in the form, with their API defaults as placeholders. */
const OPTIONS: { key: string; label: string; placeholder: string; kind: "int" | "float" }[] = [
  { key: "epochs", label: "epochs", placeholder: "10", kind: "int" },
  { key: "selectEvery", label: "re-select every R epochs", placeholder: "5", kind: "int" },
  { key: "warmEpochs", label: "warm-up epochs (full data)", placeholder: "0", kind: "int" },
  { key: "batchSize", label: "batch size", placeholder: "128", kind: "int" },
  { key: "lr", label: "learning rate", placeholder: "0.05", kind: "float" },
  { key: "seed", label: "seed", placeholder: "0", kind: "int" },
  { key: "limit", label: "use only the first N samples", placeholder: "all", kind: "int" },
];

/** The fields the form shows; an error about any other goes above the form. */
export const FIELDS = ["datasetId", "strategy", "budget", "model", "hidden", ...OPTIONS.map((o) => o.key)];

/** Messages whose first field name is not the field to fix. */
const RULES: [RegExp, string][] = [
  [/needs a budget/, "budget"],
  [/^crest selects/, "strategy"],
  [/^dataset\b|is not a gradsift id|no Dataset has it/, "datasetId"],
];

/**
 * The form field an API error is about, or null: a known phrasing, else the field named first in the
 * message (the API's checks start with the field, e.g. "epochs must be an integer ≥ 1, got 0"; GraphQL's
 * own input errors name the path, e.g. `at "i.options.epochs"`).
 */
export function fieldOf(e: GqlError): string | null {
  for (const [re, field] of RULES) if (re.test(e.message)) return field;
  let best: { field: string; at: number } | null = null;
  for (const f of FIELDS) {
    const m = new RegExp(`\\b${f}\\b`).exec(e.message);
    if (m && (!best || m.index < best.at)) best = { field: f, at: m.index };
  }
  return best?.field ?? null;
}

export function NewRun({ dataset }: { dataset: string | null }) {
  const ds = useQuery<{ datasets: { edges: { node: DatasetInfo }[] } }>(
    `{ datasets(first: 100) { edges { node { id name status numTrain } } } }`,
    {},
  );
  const ready = ds.data?.datasets.edges.map((e) => e.node).filter((d) => d.status === "READY") ?? [];
  const [v, setV] = useState<Record<string, string>>({
    kind: "TRAINING",
    datasetId: dataset ?? "",
    strategy: "gradmatch",
    budget: "0.1",
    model: "MLP",
    hidden: "",
    epochs: "",
    selectEvery: "",
    warmEpochs: "",
    batchSize: "",
    lr: "",
    seed: "",
    limit: "",
  });
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const datasetId = v.datasetId || ready[0]?.id || "";
  const set = (k: string) => (e: Event) =>
    setV({ ...v, [k]: (e.target as HTMLInputElement | HTMLSelectElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setBusy(true);
    const options: Record<string, unknown> = { model: v.model };
    for (const o of OPTIONS) {
      const raw = v[o.key].trim();
      if (raw !== "") options[o.key] = raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    if (v.hidden.trim()) {
      options.hidden = v.hidden.split(/[\s,]+/).filter(Boolean).map((x) =>
        Number.isFinite(Number(x)) ? Number(x) : x
      );
    }
    // Full trains on everything: no budget to send.
    const budget = v.strategy === "full" ? null : v.budget.trim() || null;
    const input = { datasetId, strategy: v.strategy, budget, options };
    const mutation = v.kind === "TRAINING" ? "startTraining" : "startSelection";
    const type = v.kind === "TRAINING" ? "StartTrainingInput" : "StartSelectionInput";
    try {
      const r = await gql<Record<string, { run: { id: string } }>>(
        `mutation($i: ${type}!) { ${mutation}(input: $i) { run { id } } }`,
        { i: input },
      );
      location.hash = `#/runs/${r[mutation].run.id}`;
    } catch (err) {
      const errs = err instanceof ApiError ? err.errors : [{ message: String(err) }];
      const by: Record<string, string[]> = {};
      for (const x of errs) (by[fieldOf(x) ?? "_form"] ??= []).push(x.message);
      setErrors(by);
    } finally {
      setBusy(false);
    }
  };

  const msg = (k: string) =>
    errors[k]?.map((m) => html`<div class="field-error" data-testid=${`error-${k}`}>${m}</div>`);
  const row = (k: string, label: string, control: unknown) =>
    html`<label class=${errors[k] ? "row invalid" : "row"}><span>${label}</span>${control}${msg(k)}</label>`;

  return html`<section>
    <h1>Start a run</h1>
    ${ds.error ? html`<p class="error">${ds.error.message}</p>` : null}
    <form class="run-form" onSubmit=${submit} data-testid="run-form">
      ${msg("_form")}
      ${
    row(
      "kind",
      "kind",
      html`<select name="kind" value=${v.kind} onChange=${set("kind")}>
        <option value="TRAINING">training with selection</option>
        <option value="SELECTION">selection only</option></select>`,
    )
  }
      ${
    row(
      "datasetId",
      "dataset",
      html`<select name="datasetId" value=${datasetId} onChange=${set("datasetId")}>
        ${ready.map((d) => html`<option value=${d.id}>${d.name} (${d.numTrain} samples)</option>`)}</select>`,
    )
  }
      ${
    row(
      "model",
      "model",
      html`<select name="model" value=${v.model} onChange=${set("model")}>
        <option value="MLP">MLP</option><option value="CNN">CNN (LeNet-style)</option></select>`,
    )
  }
      ${
    row(
      "hidden",
      "MLP hidden widths",
      html`<input name="hidden" value=${v.hidden} placeholder="256" onInput=${set("hidden")} />`,
    )
  }
      ${
    row(
      "strategy",
      "strategy",
      html`<select name="strategy" value=${v.strategy} onChange=${set("strategy")}>
        ${STRATEGIES.map((s) => html`<option value=${s}>${s}</option>`)}</select>`,
    )
  }
      ${
    row(
      "budget",
      "budget (fraction, % or count)",
      html`<input name="budget" value=${v.budget} onInput=${set("budget")} disabled=${
        v.strategy === "full"
      } />`,
    )
  }
      <fieldset><legend>schedule</legend>
      ${
    OPTIONS.map((o) =>
      row(
        o.key,
        o.label,
        html`<input name=${o.key} value=${v[o.key]} placeholder=${o.placeholder} onInput=${set(o.key)} />`,
      )
    )
  }
      </fieldset>
      <button type="submit" disabled=${busy || !datasetId}>${busy ? "starting…" : "Start"}</button>
    </form>
  </section>`;
}
