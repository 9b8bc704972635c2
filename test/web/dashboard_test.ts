/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (executablePath set;
 * Playwright cannot download browsers here) against the real server on PGlite with a 1,200-sample
 * slice of Fashion-MNIST. Datasets and thumbnails (filtered by class), the start-run form with the
 * API's validation messages next to their fields, a run started from the form whose charts gain points
 * live (with Full and Random overlaid), cancelling a run, the subset browser, the compare page.
 * Screenshots go to test-artifacts/dashboard/. It prints the dashboard's timings (first paint of a
 * 50-epoch run page, chart-update latency, 1,000 thumbnails and long tasks) and writes them to
 * test-artifacts/dashboard/metrics.json; the targets are judged in bench/RESULTS.md, not here.
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { putFashionSlice } from "../api/fashion_slice.ts";
import { importReady, type TestServer, testServer, waitForRun } from "../api/helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ART = "test-artifacts/dashboard";
const opts = { sanitizeOps: false, sanitizeResources: false };
const small = { hidden: [32], batchSize: 64, seed: 1, selectEvery: 1 };

/** Collects long tasks (> 50 ms on the main thread) from the first moment of every page. */
const OBSERVE = () => {
  const w = globalThis as unknown as { __longTasks: { start: number; ms: number }[] };
  w.__longTasks = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) w.__longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: "longtask", buffered: true });
};

async function startRun(
  s: TestServer,
  datasetId: string,
  strategy: string,
  options: Record<string, unknown>,
) {
  const r = await s.gql<{ startTraining: { run: { id: string } } }>(
    `mutation($i: StartTrainingInput!) { startTraining(input: $i) { run { id } } }`,
    { i: { datasetId, strategy, budget: strategy === "full" ? null : "0.2", options } },
  );
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data!.startTraining.run.id;
}

/** The detail of the latest performance mark called `name`, waiting until there are `nth` of them. */
async function markOf(page: Page, name: string, timeout = 30_000, nth = 1): Promise<Record<string, number>> {
  await page.waitForFunction(
    ([n, k]) => performance.getEntriesByName(n as string, "mark").length >= (k as number),
    [name, nth],
    { timeout },
  );
  return await page.evaluate((n) => {
    const m = performance.getEntriesByName(n, "mark").at(-1) as PerformanceMark;
    return { at: m.startTime, ...(m.detail as Record<string, number>) };
  }, name);
}

/**
 * Baseline for the thumbnail grid, in the same page: the same 1,000 images (fetched the same way) drawn
 * the obvious way, one <canvas> each, all in one task. Returns its time and the long tasks it caused.
 */
const CANVAS_PER_THUMBNAIL = async (id: string) => {
  const w = globalThis as unknown as { __longTasks: { start: number; ms: number }[] };
  const q = `query($id: ID!, $a: String) { dataset(id: $id) { samples(first: 500, after: $a) {
    edges { node { image { width height pixels } } } pageInfo { endCursor } } } }`;
  const images: { width: number; height: number; pixels: string }[] = [];
  let after: string | null = null;
  for (let k = 0; k < 2; k++) {
    const res: Response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: q, variables: { id, a: after } }),
    });
    const page: { edges: { node: { image: (typeof images)[0] } }[]; pageInfo: { endCursor: string } } =
      (await res.json()).data.dataset.samples;
    images.push(...page.edges.map((e) => e.node.image));
    after = page.pageInfo.endCursor;
  }
  await new Promise((r) => setTimeout(r, 100));
  const before = w.__longTasks.length;
  const t0 = performance.now();
  const box = document.createElement("div");
  document.body.append(box);
  for (const img of images) {
    const c = document.createElement("canvas");
    [c.width, c.height] = [img.width, img.height];
    c.style.cssText = "width:42px;height:42px;image-rendering:pixelated";
    const grey = atob(img.pixels);
    const d = new ImageData(img.width, img.height);
    for (let i = 0; i < grey.length; i++) {
      d.data[4 * i] = d.data[4 * i + 1] = d.data[4 * i + 2] = grey.charCodeAt(i);
      d.data[4 * i + 3] = 255;
    }
    c.getContext("2d")!.putImageData(d, 0, 0);
    box.append(c);
  }
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
  const renderMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  box.remove();
  const tasks = w.__longTasks.slice(before);
  return {
    count: images.length,
    renderMs,
    longTasks: tasks.length,
    longestMs: Math.max(0, ...tasks.map((x) => x.ms)),
  };
};

/** The measured figures as a table next to the targets (judged in bench/RESULTS.md, not asserted). */
function summary(m: Record<string, unknown>): string {
  const n = (v: unknown) => typeof v === "number" ? `${v.toFixed(0)} ms` : "—";
  const r = m.runPageFirstPaint as Record<string, number>;
  const c = m.chartUpdate as Record<string, number>;
  const t = m.thumbnails as Record<string, number>;
  const b = m.thumbnailsBaseline as Record<string, number>;
  const rows = [
    ["run page (50 epochs) painted with its charts", n(r?.withChartMs), "≤ 1,000 ms"],
    ["  first contentful paint", n(r?.firstContentfulPaintMs), ""],
    [`chart update after a WebSocket event, median of ${c?.events}`, n(c?.medianMs), "≤ 200 ms"],
    ["  slowest", n(c?.maxMs), "≤ 200 ms"],
    ["1,000 thumbnails: drawn after the data arrived", n(t?.renderMs), ""],
    [
      "  long tasks while drawing (longest)",
      `${t?.longTasksWhileRendering} (${n(t?.longestWhileRenderingMs)})`,
      "0",
    ],
    ["  baseline, a <canvas> per thumbnail", n(b?.renderMs), ""],
    ["  baseline long tasks (longest)", `${b?.longTasks} (${n(b?.longestMs)})`, ""],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x: string[]) => `| ${x.map((v, i) => v.padEnd(w[i])).join(" | ")} |`;
  return [
    `dashboard timings, ${m.browser}, headless:`,
    line(["measure", "value", "target"]),
    ...rows.map(line),
  ]
    .join("\n");
}

/** The sample indices a thumbnail grid drew, in order. */
async function keysOf(grid: Locator): Promise<number[]> {
  const keys = await grid.getAttribute("data-keys");
  return keys ? keys.split(",").map(Number) : [];
}

type ApiSample = { index: number; label: number; image: { pixels: string } };
async function apiSamples(s: TestServer, id: string, indices: number[]): Promise<ApiSample[]> {
  const r = await s.gql<{ dataset: { samples: { edges: { node: ApiSample }[] } } }>(
    `query($id: ID!, $i: [Int!]) { dataset(id: $id) { samples(indices: $i, first: 500) {
      edges { node { index label image { pixels } } } } } }`,
    { id, i: indices },
  );
  return r.data!.dataset.samples.edges.map((e) => e.node);
}

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? "";

Deno.test("dashboard in Chromium: datasets, form, live run, cancel, subsets, compare", opts, async (t) => {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  await Deno.mkdir(ART, { recursive: true });
  const dataDir = await Deno.makeTempDir({ prefix: "gradsift-web-" });
  await putFashionSlice(dataDir, 1200, 200);
  const s = await testServer({ dataDir });
  let browser: Browser | null = null;
  const metrics: Record<string, unknown> = {};
  try {
    const dsId = await importReady(s, "fashion-mnist");
    // Baselines and a 50-epoch run, finished before the browser measures anything.
    const fullId = await startRun(s, dsId, "full", { ...small, epochs: 3 });
    const randomId = await startRun(s, dsId, "random", { ...small, epochs: 3 });
    const longId = await startRun(s, dsId, "random", { ...small, epochs: 50, limit: 200, batchSize: 100 });
    const sel = await s.gql<{ startSelection: { run: { id: string } } }>(
      `mutation($i: StartSelectionInput!) { startSelection(input: $i) { run { id } } }`,
      { i: { datasetId: dsId, strategy: "craig", budget: "60", options: { hidden: [32] } } },
    );
    const selectionId = sel.data!.startSelection.run.id;
    for (const id of [fullId, randomId, longId, selectionId]) {
      assert.equal((await waitForRun(s, id, ["SUCCEEDED", "FAILED"], 120_000)).status, "SUCCEEDED");
    }
    const origin = s.url.replace(/\/graphql$/, "");
    // As root (CI) Chromium needs --no-sandbox; containers often have a tiny /dev/shm; the server is local.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server"],
    });
    metrics.browser = `Chromium ${browser.version()}`;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(OBSERVE);
    const page = await ctx.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));

    await t.step("datasets list with sizes and class histograms", async () => {
      await page.goto(`${origin}/`);
      const row = page.getByTestId("datasets").locator("tbody tr");
      await row.first().waitFor();
      assert.match(await row.first().textContent() ?? "", /fashion-mnist.*READY.*1,200.*200.*1×28×28/);
      assert.equal(await row.first().locator(".hist span").count(), 10);
      await page.screenshot({ path: `${ART}/01-home.png`, fullPage: true });
    });

    await t.step("dataset page: 1,000 thumbnails, then one class", async () => {
      const dp = await ctx.newPage();
      await dp.goto(`${origin}/#/datasets/${dsId}`);
      const m = await markOf(dp, "thumbs-rendered");
      assert.equal(m.count, 1000);
      const grid = dp.getByTestId("thumbs");
      assert.deepEqual(await keysOf(grid), Array.from({ length: 1000 }, (_, i) => i));
      // Long tasks (> 50 ms) from the moment the thumbnails' data had arrived until all were drawn.
      await dp.waitForTimeout(100); // the observer reports a long task shortly after it ends
      const tasks = await dp.evaluate(() =>
        (globalThis as unknown as { __longTasks: { start: number; ms: number }[] }).__longTasks
      );
      const during = tasks.filter((x) => x.start + x.ms >= m.renderStart && x.start <= m.at);
      metrics.thumbnails = {
        count: m.count,
        fetchMs: m.fetchMs,
        renderMs: m.renderMs,
        pageLoadToRenderedMs: m.at,
        longTasksWhileRendering: during.length,
        longestWhileRenderingMs: Math.max(0, ...during.map((x) => x.ms)),
        longTasksSinceNavigation: tasks.map((x) => Math.round(x.ms)),
      };
      // Sample 0's cell shows exactly its pixels from the API (28 px drawn at 1.5×, nearest-neighbour).
      const shown = await grid.evaluate((c: HTMLCanvasElement) => {
        const d = c.getContext("2d")!.getImageData(0, 0, 42, 42).data;
        const out: number[] = [];
        for (let y = 0; y < 28; y++) {
          for (let x = 0; x < 28; x++) {
            out.push(d[4 * (Math.floor((y + 0.5) * 1.5) * 42 + Math.floor((x + 0.5) * 1.5))]);
          }
        }
        return out;
      });
      const want = [...atob((await apiSamples(s, dsId, [0]))[0].image.pixels)].map((c) => c.charCodeAt(0));
      assert.deepEqual(shown, want);
      assert.ok(want.some((v) => v > 0));
      await dp.screenshot({ path: `${ART}/02-dataset.png` });
      metrics.thumbnailsBaseline = await dp.evaluate(CANVAS_PER_THUMBNAIL, dsId);
      await dp.getByTestId("class-filter").getByRole("button", { name: "Trouser" }).click();
      await dp.waitForFunction(() => {
        const t = document.querySelector("[data-testid=thumb-count]")?.textContent ?? "";
        return t.includes("in Trouser") && !t.includes("loading");
      });
      await markOf(dp, "thumbs-rendered", 30_000, 2);
      const keys = await keysOf(grid);
      const labels = (await apiSamples(s, dsId, keys)).map((x) => x.label);
      assert.equal(keys.length, 128, "every trouser of the slice");
      assert.deepEqual(new Set(labels), new Set([1]), "only trousers");
      await dp.screenshot({ path: `${ART}/03-dataset-trouser.png` });
      await dp.close();
    });

    await t.step("run page of a 50-epoch run: first paint", async () => {
      const p = await ctx.newPage();
      await p.goto(`${origin}/#/runs/${longId}`);
      const m = await markOf(p, "run-page-painted");
      assert.equal(m.epochs, 50);
      assert.match(await text(p, "epoch-count"), /^50 \/ 50 epochs/);
      const fcp = await p.evaluate(() =>
        performance.getEntriesByName("first-contentful-paint")[0]?.startTime
      );
      metrics.runPageFirstPaint = { withChartMs: m.at, firstContentfulPaintMs: fcp, epochs: 50 };
      await p.screenshot({ path: `${ART}/04-run-50-epochs.png`, fullPage: true });
      await p.close();
    });

    let formRunId = "";
    await t.step("start-run form: API validation next to the fields, then a run", async () => {
      await page.goto(`${origin}/#/new?dataset=${dsId}`);
      const form = page.getByTestId("run-form");
      await form.locator("select[name=datasetId] option").first().waitFor({ state: "attached" });
      await form.locator("input[name=epochs]").fill("abc");
      await form.getByRole("button", { name: "Start" }).click();
      await page.getByTestId("error-epochs").waitFor();
      assert.match(await text(page, "error-epochs"), /Int cannot represent/);
      await form.locator("input[name=epochs]").fill("8");
      await form.locator("input[name=budget]").fill("5000");
      await form.getByRole("button", { name: "Start" }).click();
      await page.getByTestId("error-budget").waitFor();
      assert.match(await text(page, "error-budget"), /exceeds the 1200 samples/);
      assert.equal(await page.getByTestId("error-epochs").count(), 0);
      await page.screenshot({ path: `${ART}/05-form-errors.png`, fullPage: true });
      await form.locator("select[name=strategy]").selectOption("gradmatch");
      await form.locator("input[name=budget]").fill("0.2");
      await form.locator("input[name=hidden]").fill("32");
      await form.locator("input[name=batchSize]").fill("64");
      await form.locator("input[name=selectEvery]").fill("2");
      await form.locator("input[name=seed]").fill("3");
      await form.getByRole("button", { name: "Start" }).click();
      await page.waitForURL(/#\/runs\//);
      formRunId = decodeURIComponent(new URL(page.url()).hash.split("/")[2]);
    });

    await t.step("the run page's charts gain points live", async () => {
      await page.getByTestId("acc-chart").waitFor();
      const seen = new Set<string>();
      const t0 = Date.now();
      while (Date.now() - t0 < 90_000) {
        seen.add(await text(page, "epoch-count"));
        if ((await text(page, "run-status")) === "SUCCEEDED") break;
        if (seen.size === 3) await page.screenshot({ path: `${ART}/06-run-live.png`, fullPage: true });
        await page.waitForTimeout(50);
      }
      assert.equal(await text(page, "run-status"), "SUCCEEDED");
      const counts = [...seen].map((x) => Number(/^(\d+) \//.exec(x)?.[1])).filter((n) => n > 0 && n < 8);
      assert.ok(counts.length >= 2, `the epoch count grew while the page watched: ${[...seen].join(" | ")}`);
      const updates = await page.evaluate(() =>
        (globalThis as unknown as { __dashboard: { chartUpdates: number[] } }).__dashboard.chartUpdates
      );
      assert.ok(updates.length >= 2, "the chart redrew for live events");
      const points = await page.getByTestId("acc-chart").evaluate((el) =>
        el.querySelector(".u-legend")?.textContent ?? ""
      );
      assert.match(points, /gradmatch \(this run\)/);
      assert.match(points, /full/);
      assert.match(points, /random 0\.2/);
      const sorted = [...updates].sort((a, b) => a - b);
      metrics.chartUpdate = {
        events: updates.length,
        medianMs: sorted[Math.floor(sorted.length / 2)],
        maxMs: sorted.at(-1),
        allMs: updates.map((x) => Number(x.toFixed(1))),
      };
      assert.match(await text(page, "epoch-count"), /^8 \/ 8 epochs/);
      await page.screenshot({ path: `${ART}/07-run-done.png`, fullPage: true });
    });

    await t.step("cancel a run from its page", async () => {
      await page.goto(`${origin}/#/new?dataset=${dsId}`);
      const form = page.getByTestId("run-form");
      await form.locator("select[name=datasetId] option").first().waitFor({ state: "attached" });
      await form.locator("select[name=strategy]").selectOption("full");
      await form.locator("input[name=epochs]").fill("300");
      await form.locator("input[name=hidden]").fill("32");
      await form.getByRole("button", { name: "Start" }).click();
      await page.waitForURL(/#\/runs\//);
      await page.waitForFunction(() =>
        /^[1-9]/.test(document.querySelector("[data-testid=epoch-count]")?.textContent ?? "")
      );
      await page.getByTestId("cancel").click();
      await page.waitForFunction(
        () => document.querySelector("[data-testid=run-status]")?.textContent === "CANCELLED",
        null,
        { timeout: 30_000 },
      );
      assert.equal(await page.getByTestId("cancel").count(), 0);
      await page.screenshot({ path: `${ART}/08-cancelled.png`, fullPage: true });
    });

    await t.step("subset browser: by class, heaviest first, weights shown", async () => {
      await page.goto(`${origin}/#/runs/${formRunId}`);
      await page.getByTestId("subsets").getByRole("link", { name: "browse" }).first().click();
      const m = await markOf(page, "subset-rendered");
      assert.equal(m.count, 240);
      const subsetId = decodeURIComponent(new URL(page.url()).hash.split("/").at(-1)!);
      const r = await s.gql<{ node: { samples: { edges: { node: { index: number; label: number } }[] } } }>(
        `query($id: ID!) { node(id: $id) { ... on Subset { samples(first: 500, orderBy: WEIGHT_DESC) {
          edges { node { index label weight } } } } } }`,
        { id: subsetId },
      );
      const members = r.data!.node.samples.edges.map((e) => e.node);
      const classes = [...new Set(members.map((x) => x.label))].sort((a, b) => a - b);
      const groups = page.getByTestId("subset-classes").locator(".class-group");
      assert.equal(await groups.count(), classes.length);
      for (const [g, label] of classes.entries()) {
        const want = members.filter((x) => x.label === label).map((x) => x.index);
        assert.deepEqual(
          await keysOf(groups.nth(g).locator("canvas")),
          want,
          `class ${label}, heaviest first`,
        );
      }
      assert.match(await page.locator("table.bars").textContent() ?? "", /in the dataset/);
      await page.screenshot({ path: `${ART}/09-subset.png`, fullPage: true });
    });

    await t.step("a selection run's page: no charts, its one subset", async () => {
      await page.goto(`${origin}/#/runs/${selectionId}`);
      await page.getByTestId("subsets").waitFor();
      assert.match(await page.locator("h1").textContent() ?? "", /craig selection run\s*SUCCEEDED/);
      assert.equal(await page.getByTestId("acc-chart").count(), 0);
      assert.match(await page.getByTestId("subsets").locator("tbody").textContent() ?? "", /^0\s*0\s*60/);
      await page.screenshot({ path: `${ART}/10-selection-run.png`, fullPage: true });
    });

    await t.step("compare: table and accuracy-vs-time plot", async () => {
      await page.goto(`${origin}/#/compare?runs=${[fullId, randomId, formRunId].join(",")}`);
      const rows = page.getByTestId("compare-table").locator("tbody tr.picked");
      await rows.first().waitFor();
      assert.equal(await rows.count(), 3);
      const table = await page.getByTestId("compare-table").textContent() ?? "";
      assert.match(table, /×/, "speed-up vs Full");
      assert.match(table, /%/);
      await page.getByTestId("compare-chart").locator("canvas").waitFor();
      await page.screenshot({ path: `${ART}/11-compare.png`, fullPage: true });
    });

    // The form's "abc" epochs is refused by GraphQL's variable coercion, which yoga answers with HTTP 400.
    const unexpected = consoleErrors.filter((e) => !/status of 400 \(Bad Request\)/.test(e));
    assert.deepEqual(unexpected, [], "no other errors in the browser console");
    console.log(summary(metrics));
    await Deno.writeTextFile(`${ART}/metrics.json`, JSON.stringify(metrics, null, 2) + "\n");
  } finally {
    await browser?.close();
    await s.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
