/**
 * Selection benchmarks. `deno task bench selection [--quick] [--part omp|omp-class|omp-cli|omp-per-class|craig|table] [--seeds N]
 * [--epochs N] [--budgets 0.1,0.3] [--strategies a,b] [--limit N] [--nfg-warm N] [--record FILE]`.
 * 1. OMP, one class of Fashion-MNIST-sized data (n = 6,000, d = 2,570 = 10 × 257 as factored last-layer
 *    gradients of an MLP trained one epoch, k = 600): GPU Batch-OMP vs the float64 reference OMP that
 *    re-solves from scratch each iteration, in the same run, with both objectives.
 * 2. n = 10,000, d = 1,024, k = 1,000 seeded Gaussian gradients through the CLI (`gradsift select`).
 * 3. n = 60,000 per class, k = 1,500 / 3,000 / 6,000: time and objective as k grows.
 * 4. CRAIG at 10 % on all 60,000 samples, and one class's lazy greedy with SIMD gains against the plain
 *    float64 loop (`--part craig`).
 * 5. The results table: Fashion-MNIST, MLP, every strategy at each budget and seed — test accuracy
 *    (mean ± std), relative error vs Full, selection and total seconds, speed-up vs Full — and an SVG plot
 *    of accuracy against wall time (bench/out/selection_accuracy.svg). With `--record FILE`, every finished
 *    training run is appended to FILE (JSON lines) as it ends, and runs already there (same strategy,
 *    budget, seed, epochs, sample limit and NFG warm-up) are taken from it instead of being run again: a
 *    table of ~90 minutes survives an interruption, and its rows can be produced in several sittings.
 */
import { loadFashionMnist } from "../src/data/fashion_mnist.ts";
import { writeNpy } from "../src/data/npy.ts";
import { acquireGpu, type Gpu } from "../src/gpu/device.ts";
import { gatherRows } from "../src/gpu/ops/gather_rows.ts";
import { Step } from "../src/gpu/step.ts";
import { type Tensor, tensor } from "../src/gpu/tensor.ts";
import { buildModel } from "../src/nn/model.ts";
import { extract } from "../src/nn/extract.ts";
import { type Split, Trainer } from "../src/nn/train.ts";
import { runTraining } from "../src/runs/training.ts";
import { classIndices } from "../src/selection/budget.ts";
import { matchingObjective, readFeatures, targetCorrelations } from "../src/selection/features.ts";
import { GradMatchStrategy } from "../src/selection/grad_match.ts";
import { craigSimilarities, CraigStrategy } from "../src/selection/craig.ts";
import { maximizeFacilityLocation } from "../src/selection/facility_location.ts";
import type { StrategyName } from "../src/selection/mod.ts";
import type { SelectionContext } from "../src/selection/types.ts";
import { ompGpu } from "../src/selection/omp_gpu.ts";
import { ompHybrid } from "../src/selection/omp_hybrid.ts";
import { ompObjective, ompReference } from "../src/selection/omp_reference.ts";
import { Rng } from "../src/util/rng.ts";
import { argValue, provenance, table } from "./util.ts";

const args = Deno.args;
const opt = (name: string, def: string) => argValue(args, `--${name}`) ?? def;
const quick = args.includes("--quick");
const part = opt("part", "all");

/** An MLP trained briefly on (a slice of) Fashion-MNIST, and its extracted features. */
async function fashionFeatures(gpu: Gpu, train: Split, epochs: number) {
  const model = buildModel(gpu, { kind: "mlp", inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  await new Trainer(model, { train }, { epochs, seed: 0 }).fit();
  const ex = await extract(model, train);
  model.dispose();
  return ex;
}

/** A selection context over the extracted features of all of `train` (10 classes, seed 0). */
function featureContext(
  gpu: Gpu,
  train: Split,
  ex: { e: Tensor; h: Tensor },
  budget: number,
): SelectionContext {
  return {
    gpu,
    features: { kind: "factored", e: ex.e, h: ex.h, bias: true },
    labels: train.labels,
    numClasses: 10,
    budget,
    rng: new Rng(0),
  };
}

async function ompClass(gpu: Gpu, train: Split): Promise<string> {
  const k = quick ? 100 : 600;
  const ex = await fashionFeatures(gpu, train, 1);
  const rows = classIndices(train.labels, 10)[0].slice(0, quick ? 1500 : 6000);
  const step = new Step(gpu, "gather class");
  const [e, h] = [gatherRows(step, ex.e, rows), gatherRows(step, ex.h, rows)];
  await step.submit();
  ex.dispose();
  const cpu = await readFeatures({ kind: "factored", e, h, bias: true });
  const n = rows.length;
  const p0 = targetCorrelations(cpu, Uint32Array.from({ length: n }, (_, i) => i));
  const t0 = performance.now();
  const gpuRes = await ompGpu(gpu, { kind: "factored", e, h, bias: true, p0 }, { k, lambda: 0.5 });
  const gpuSec = (performance.now() - t0) / 1000;
  const t2 = performance.now();
  const hybRes = await ompHybrid(gpu, { kind: "factored", e, h, bias: true, p0 }, cpu, { k, lambda: 0.5 });
  const hybSec = (performance.now() - t2) / 1000;
  const d = 10 * 257;
  const g = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 10; a++) {
      const ea = cpu.kind === "factored" ? cpu.e[i * 10 + a] : 0;
      for (let b = 0; b < 256; b++) {
        g[i * d + a * 256 + b] = ea * (cpu.kind === "factored" ? cpu.h[i * 256 + b] : 0);
      }
      g[i * d + 2560 + a] = ea;
    }
  }
  const t1 = performance.now();
  const ref = ompReference(g, n, d, { k, lambda: 0.5 });
  const refSec = (performance.now() - t1) / 1000;
  [e, h].forEach((t) => t.dispose());
  const objR = ompObjective(g, n, d, ref.indices, ref.weights);
  const row = (
    what: string,
    r: { indices: Uint32Array; weights: ArrayLike<number>; readBacks?: number; passes?: number },
    sec: number,
  ) => [
    what,
    n,
    d,
    k,
    sec.toFixed(2),
    `${(refSec / sec).toFixed(1)}×`,
    ompObjective(g, n, d, r.indices, r.weights).toExponential(4),
    `${r.indices.length}`,
    `${r.indices.filter((i) => ref.indices.includes(i)).length}`,
    `${samePrefix(r.indices, ref.indices)}`,
    r.readBacks === undefined ? "" : `${r.readBacks} / ${r.passes}`,
  ];
  const header = [
    "OMP, one class (factored, λ = 0.5)",
    "n",
    "d",
    "k",
    "seconds",
    "speed-up",
    "objective",
    "picks",
  ];
  return table([...header, "shared with ref.", "same order as ref.", "read-backs / passes"], [
    row("Batch-OMP, hybrid (GPU passes, float64 algebra)", hybRes, hybSec),
    row("Batch-OMP, all-GPU (float32 inverse)", gpuRes, gpuSec),
    [
      "reference OMP, float64 TS (re-solves)",
      n,
      d,
      k,
      refSec.toFixed(2),
      "1.0×",
      objR.toExponential(4),
      `${ref.indices.length}`,
      "",
      "",
      "",
    ],
  ]);
}

/** Length of the common prefix of two pick sequences. */
function samePrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

async function ompCli(gpu: Gpu): Promise<string> {
  const [n, d, k] = quick ? [2000, 256, 200] : [10000, 1024, 1000];
  const rng = new Rng(42);
  const g = rng.normals(n * d);
  const drift = rng.normals(d, 0.2);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) g[i * d + c] += drift[c];
  const dir = await Deno.makeTempDir();
  await writeNpy(`${dir}/G.npy`, g, [n, d]);
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../src/cli.ts", import.meta.url).pathname,
      "select",
      "--input",
      `${dir}/G.npy`,
      "--budget",
      `${k}`,
      "--strategy",
      "gradmatch",
      "--out",
      `${dir}/s.json`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - t0) / 1000;
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  const s = JSON.parse(await Deno.readTextFile(`${dir}/s.json`));
  await Deno.remove(dir, { recursive: true });
  // The same problem in this process: the CLI's engine (on CPU adapters the batched f16 device, elsewhere
  // the f32 device with speculative batches; float64 half in SIMD), the same with the float64 half in
  // plain TypeScript loops (the previous algorithm), and the other device.
  const engines: (string | number)[][] = [];
  const gt = tensor(gpu, g, [n, d], "bench.g");
  const cpu = await readFeatures({ kind: "dense", g: gt });
  const cliF16 = gpu.onCpu;
  const dev = (f16: boolean) => (f16 ? "f16 device (batched)" : "f32 device (speculates)");
  const variants: [string, { denseF16: boolean; simd: boolean }][] = [
    [`hybrid in-process, ${dev(cliF16)}, SIMD float64`, { denseF16: cliF16, simd: true }],
    [`hybrid in-process, ${dev(cliF16)}, plain-TS float64`, { denseF16: cliF16, simd: false }],
    [`hybrid in-process, ${dev(!cliF16)}, SIMD float64`, { denseF16: !cliF16, simd: true }],
  ];
  for (const [what, o] of variants) {
    const t1 = performance.now();
    const r = await ompHybrid(gpu, { kind: "dense", g: gt }, cpu, { k, ...o });
    const sec = (performance.now() - t1) / 1000;
    engines.push([
      what,
      n,
      d,
      k,
      sec.toFixed(2),
      "",
      ompObjective(g, n, d, r.indices, r.weights).toExponential(4),
      `${r.readBacks} / ${r.passes}`,
    ]);
  }
  gt.dispose();
  return table([
    "gradsift select (Gaussian, whole set, λ = 0)",
    "n",
    "d",
    "k",
    "selection s",
    "process s",
    "objective",
    "read-backs / passes",
  ], [
    [
      "gradmatch via the CLI",
      n,
      d,
      k,
      s.seconds.toFixed(2),
      wall.toFixed(2),
      s.objective.toExponential(4),
      "",
    ],
    ...engines,
  ]);
}

/**
 * CRAIG at 10 % on all 60,000 training samples (features of an MLP trained one epoch): the whole selection,
 * then class 0's lazy greedy alone on its similarity matrix, with the SIMD gains (a float32 matrix) and the
 * plain float64 loop (the same matrix as Float64Array, the previous code), which must pick the same rows.
 */
async function craigBench(gpu: Gpu, train: Split): Promise<string> {
  const ex = await fashionFeatures(gpu, train, 1);
  const n = train.labels.length;
  const k = quick ? 600 : Math.round(n / 10);
  const t0 = performance.now();
  const sub = await new CraigStrategy().select(featureContext(gpu, train, ex, k));
  const whole = (performance.now() - t0) / 1000;
  const rows = classIndices(train.labels, 10)[0];
  let sim: Float32Array = new Float32Array(0);
  for await (const b of craigSimilarities(ex.e, [rows])) sim = b.sim;
  ex.dispose();
  const kc = Math.round(rows.length / 10);
  const time = (m: Float32Array | Float64Array) => {
    const t = performance.now();
    const r = maximizeFacilityLocation(m, { n: rows.length, k: kc, symmetric: true });
    return { r, sec: (performance.now() - t) / 1000 };
  };
  const simd = time(sim);
  const plain = time(Float64Array.from(sim));
  const same = simd.r.picks.every((p, t) => p === plain.r.picks[t]);
  return table(["CRAIG on Fashion-MNIST (eᵢ of an MLP after 1 epoch)", "n", "k", "seconds", "picks"], [
    ["CRAIG.select, all classes", n, k, whole.toFixed(2), `${sub.indices.length}`],
    ["lazy greedy, class 0, SIMD gains (f32 matrix)", rows.length, kc, simd.sec.toFixed(2), `${kc}`],
    [
      "lazy greedy, class 0, plain float64 loop",
      rows.length,
      kc,
      plain.sec.toFixed(2),
      same ? "same as SIMD" : "DIFFERENT from SIMD",
    ],
  ]);
}

async function ompPerClass(gpu: Gpu, train: Split): Promise<string> {
  const ex = await fashionFeatures(gpu, train, 1);
  const cpu = await readFeatures({ kind: "factored", e: ex.e, h: ex.h, bias: true });
  const rows: (string | number)[][] = [];
  for (const k of quick ? [300, 600] : [1500, 3000, 6000]) {
    const s = new GradMatchStrategy({ mode: "per-class" });
    const t0 = performance.now();
    const subset = await s.select(featureContext(gpu, train, ex, k));
    const sec = (performance.now() - t0) / 1000;
    rows.push([
      train.labels.length,
      k,
      sec.toFixed(2),
      s.stats.ompIterations,
      `${s.stats.readBacks} / ${s.stats.passes}`,
      matchingObjective(cpu, subset.indices, subset.weights).toExponential(4),
    ]);
  }
  ex.dispose();
  return table([
    "n (per class, λ = 0.5)",
    "k",
    "seconds",
    "OMP iterations",
    "read-backs / passes",
    "objective (vs all 60k)",
  ], rows);
}

interface Cell {
  strategy: string;
  budget: number;
  runs: Recorded[];
  seconds: number[];
}

/** What the table and the plot need of one training run (one line of a `--record` file). */
interface Recorded {
  strategy: string;
  budget: number;
  seed: number;
  epochs: number;
  limit: number;
  nfgWarm: number;
  finalAccuracy: number;
  selectionSeconds: number;
  /** Wall seconds of the whole run (selection, training, evaluation). */
  seconds: number;
  history: { selectionSeconds: number; trainSeconds: number; testAccuracy: number }[];
  finished: string;
}

function recordKey(
  r: Omit<Recorded, "finalAccuracy" | "selectionSeconds" | "seconds" | "history" | "finished">,
) {
  return JSON.stringify([
    r.strategy,
    r.budget,
    r.seed,
    r.epochs,
    r.limit,
    r.strategy === "nfg" ? r.nfgWarm : 0,
  ]);
}

async function readRecords(path: string | undefined): Promise<Map<string, Recorded>> {
  const out = new Map<string, Recorded>();
  if (!path) return out;
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const r = JSON.parse(line) as Recorded;
    out.set(recordKey(r), r);
  }
  return out;
}

async function resultsTable(gpu: Gpu, data: { train: Split; test: Split }, limit: number): Promise<string> {
  const seeds = Number(opt("seeds", quick ? "1" : "3"));
  const epochs = Number(opt("epochs", quick ? "3" : "15"));
  const budgets = opt("budgets", "0.1,0.3").split(",").map(Number);
  const strategies = opt("strategies", "full,random,gradmatch,craig,crest,nfg").split(",") as StrategyName[];
  const nfgWarm = Number(opt("nfg-warm", quick ? "1" : "10"));
  const recordPath = argValue(args, "--record");
  const recorded = await readRecords(recordPath);
  const cells: Cell[] = [];
  for (const strategy of strategies) {
    for (const budget of strategy === "full" ? [1] : budgets) {
      const cell: Cell = { strategy, budget, runs: [], seconds: [] };
      for (let seed = 0; seed < seeds; seed++) {
        const old = recorded.get(recordKey({ strategy, budget, seed, epochs, limit, nfgWarm }));
        if (old) {
          cell.runs.push(old);
          cell.seconds.push(old.seconds);
          console.error(`  ${strategy} ${budget} seed ${seed}: recorded ${old.finished}`);
          continue;
        }
        const t0 = performance.now();
        const r = await runTraining(gpu, {
          model: { kind: "mlp", seed },
          data: { ...data, inputShape: [28, 28, 1], numClasses: 10 },
          train: { epochs, seed },
          selection: {
            strategy,
            budget,
            // GRAD-MATCH as CORDS runs it best: per mini-batch, warm-started with ⌈κ·T·fraction⌉ full epochs (κ = ½).
            mode: "per-batch",
            warmEpochs: strategy === "gradmatch" || strategy === "craig"
              ? Math.ceil(0.5 * epochs * budget)
              : 0,
            selectEvery: Math.max(1, Math.round(epochs / 3)),
            nfgWarmEpochs: nfgWarm,
          },
        });
        const rec: Recorded = {
          strategy,
          budget,
          seed,
          epochs,
          limit,
          nfgWarm,
          finalAccuracy: r.finalAccuracy,
          selectionSeconds: r.selectionSeconds,
          seconds: (performance.now() - t0) / 1000,
          history: r.history.map((e) => ({
            selectionSeconds: e.selectionSeconds,
            trainSeconds: e.trainSeconds,
            testAccuracy: e.testAccuracy,
          })),
          finished: new Date().toISOString(),
        };
        if (recordPath) await Deno.writeTextFile(recordPath, JSON.stringify(rec) + "\n", { append: true });
        cell.runs.push(rec);
        cell.seconds.push(rec.seconds);
        console.error(
          `  ${strategy} ${budget} seed ${seed}: acc ${(100 * r.finalAccuracy).toFixed(2)}% in ${
            cell.seconds.at(-1)!.toFixed(1)
          } s`,
        );
      }
      cells.push(cell);
    }
  }
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const std = (x: number[]) => Math.sqrt(mean(x.map((v) => (v - mean(x)) ** 2)));
  const full = cells.find((c) => c.strategy === "full");
  const fullAcc = full ? mean(full.runs.map((r) => r.finalAccuracy)) : NaN;
  const fullSec = full ? mean(full.seconds) : NaN;
  await Deno.mkdir(new URL("./out", import.meta.url), { recursive: true });
  // As `deno fmt` writes it (from stdin: it skips the git-ignored bench/out), so that the plot can be
  // copied next to RESULTS.md as it is — the fmt check covers SVG.
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", new URL("../deno.json", import.meta.url).pathname, "--ext=svg", "-"],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(svgPlot(cells)));
  await writer.close();
  const formatted = await fmt.output();
  const svg = formatted.success ? new TextDecoder().decode(formatted.stdout) : svgPlot(cells);
  await Deno.writeTextFile(new URL("./out/selection_accuracy.svg", import.meta.url), svg);
  const rows = cells.map((c) => {
    const acc = c.runs.map((r) => 100 * r.finalAccuracy);
    const relErr = (100 * (fullAcc - mean(acc) / 100)) / fullAcc;
    return [
      c.strategy,
      c.strategy === "full" ? "100%" : `${100 * c.budget}%`,
      `${mean(acc).toFixed(2)} ± ${std(acc).toFixed(2)}`,
      c.strategy === "full" ? "—" : relErr.toFixed(2),
      mean(c.runs.map((r) => r.selectionSeconds)).toFixed(1),
      mean(c.seconds).toFixed(1),
      (fullSec / mean(c.seconds)).toFixed(2) + "×",
    ];
  });
  return `${seeds} seed(s), ${epochs} epochs, MLP 784-256-10, batch 128, lr 0.05 cosine, Nesterov 0.9, wd 5e-4\n\n` +
    table([
      "strategy",
      "budget",
      "test acc % (mean ± std)",
      "rel. error vs Full %",
      "selection s",
      "total s",
      "speed-up",
    ], rows);
}

/** Accuracy (per epoch) against cumulative wall time, one line per strategy and budget (seed 0). */
function svgPlot(cells: Cell[]): string {
  const [w, h, m] = [640, 400, 50];
  const series = cells.map((c) => ({
    label: `${c.strategy}${c.strategy === "full" ? "" : ` ${100 * c.budget}%`}`,
    points: c.runs[0].history.map((e) =>
      [e.selectionSeconds + e.trainSeconds, 100 * e.testAccuracy] as [number, number]
    ),
  }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x1, y0, y1] = [
    Math.max(...xs) * 1.05,
    Math.floor(Math.min(...ys)) - 1,
    Math.ceil(Math.max(...ys)) + 1,
  ];
  const X = (x: number) => m + ((w - 2 * m) * x) / x1;
  const Y = (y: number) => h - m - ((h - 2 * m) * (y - y0)) / (y1 - y0);
  const colors = [
    "#000",
    "#e41a1c",
    "#377eb8",
    "#4daf4a",
    "#984ea3",
    "#ff7f00",
    "#a65628",
    "#f781bf",
    "#999",
    "#66c2a5",
    "#fc8d62",
  ];
  const lines = series.map((s, i) =>
    `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${
      s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ")
    }"/><text x="${w - m + 5}" y="${m + 14 * i}" font-size="11" fill="${
      colors[i % colors.length]
    }">${s.label}</text>`
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w + 90}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${m}" y1="${h - m}" x2="${w - m}" y2="${
    h - m
  }" stroke="#333"/><line x1="${m}" y1="${m}" x2="${m}" y2="${h - m}" stroke="#333"/>
<text x="${w / 2}" y="${
    h - 12
  }" font-size="12" text-anchor="middle">wall time (s): selection + training</text>
<text x="14" y="${h / 2}" font-size="12" transform="rotate(-90 14 ${
    h / 2
  })" text-anchor="middle">test accuracy (%)</text>
<text x="${m}" y="${h - m + 14}" font-size="10">0</text><text x="${w - m}" y="${
    h - m + 14
  }" font-size="10" text-anchor="end">${x1.toFixed(0)}</text>
<text x="${m - 4}" y="${Y(y0)}" font-size="10" text-anchor="end">${y0}</text><text x="${m - 4}" y="${
    Y(y1) + 8
  }" font-size="10" text-anchor="end">${y1}</text>
${lines.join("\n")}
</svg>
`;
}

export async function main(): Promise<void> {
  const gpu = await acquireGpu();
  const ds = await loadFashionMnist();
  const limit = Number(opt("limit", "0"));
  const slice = (
    s: Split,
    n: number,
  ) => (n > 0 ? { features: s.features.subarray(0, n * 784), labels: s.labels.subarray(0, n) } : s);
  const train = slice(ds.train, limit);
  console.log(`# Selection benchmarks\n${await provenance(gpu)}\n`);
  // Each OMP table is printed as soon as it is measured; `--part omp-class | omp-cli | omp-per-class` runs one.
  const omp = part === "all" || part === "omp";
  if (omp) console.log("## OMP\n");
  if (omp || part === "omp-class") console.log(`${await ompClass(gpu, ds.train)}\n`);
  if (omp || part === "omp-cli") console.log(`${await ompCli(gpu)}\n`);
  if (omp || part === "omp-per-class") console.log(`${await ompPerClass(gpu, ds.train)}\n`);
  if (part === "all" || part === "craig") console.log(`## CRAIG\n\n${await craigBench(gpu, ds.train)}\n`);
  if (part === "all" || part === "table") {
    console.log(`## Results table (Fashion-MNIST${limit ? `, first ${limit} training samples` : ""})\n`);
    console.log(await resultsTable(gpu, { train, test: ds.test! }, limit));
    console.log("\nplot: bench/out/selection_accuracy.svg");
  }
  gpu.destroy();
}

if (import.meta.main) await main();
