/**
 * Training benchmarks on Fashion-MNIST: (1) MLP 784-256-10 samples/s at batch 128, GPU trainer vs the
 * plain-TypeScript CPU MLP in the same run; (2) extraction of hᵢ and eᵢ for all 60,000 samples vs one
 * training epoch; (3) full-data training to the accuracy targets (MLP ≥ 88.5%, CNN ≥ 90.5% in ≤ 15
 * epochs). `deno task bench training [--epochs=N] [--cnn | --cnn-only] [--quick | --throughput]`; --cnn adds the (long)
 * CNN run, --cnn-only runs only it (after the throughput table).
 */
import { loadFashionMnist } from "../src/data/fashion_mnist.ts";
import { acquireGpu, type Gpu } from "../src/gpu/device.ts";
import { buildModel, channelsLastShape, type ModelKind } from "../src/nn/model.ts";
import { type Split, Trainer } from "../src/nn/train.ts";
import { extract } from "../src/nn/extract.ts";
import { CpuMlp } from "./cpu_mlp.ts";
import { fmtMs, provenance, table } from "./util.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const epochsArg = args.find((a) => a.startsWith("--epochs="));
const EPOCHS = epochsArg ? Number(epochsArg.split("=")[1]) : 15;

async function throughput(gpu: Gpu, train: Split, inputShape: number[]): Promise<string[][]> {
  const batches = quick ? 10 : 40;
  const bs = 128;
  const n = batches * bs;
  const part = { features: train.features.subarray(0, n * 784), labels: train.labels.subarray(0, n) };
  const gpuSeconds = async (on: Gpu) => {
    const model = buildModel(on, { kind: "mlp", inputShape, numClasses: 10, seed: 0 });
    const trainer = new Trainer(model, { train: part }, { epochs: 1, batchSize: bs, seed: 0 });
    await trainer.trainEpoch(0, null, { totalSteps: batches }); // warm-up: pipelines, pool
    const t0 = performance.now();
    await trainer.trainEpoch(1, null, { totalSteps: batches });
    model.dispose();
    return (performance.now() - t0) / 1000;
  };
  const gpuSec = await gpuSeconds(gpu);
  // On a CPU adapter the default matmul is the register-blocked kernel; the tiled one was the previous.
  let tiledSec = 0;
  if (gpu.onCpu) {
    const tiled = await acquireGpu({ matmul: "tiled" });
    tiledSec = await gpuSeconds(tiled);
    tiled.destroy();
  }
  const cpuSeconds = (skipZeros: boolean) => {
    const cpu = new CpuMlp([784, 256, 10], 0, skipZeros);
    const t1 = performance.now();
    for (let b = 0; b < batches; b++) {
      const x = part.features.subarray(b * bs * 784, (b + 1) * bs * 784);
      cpu.step(x, part.labels.subarray(b * bs, (b + 1) * bs), 0.05);
    }
    return (performance.now() - t1) / 1000;
  };
  const [plain, skipping] = [cpuSeconds(false), cpuSeconds(true)];
  const row = (what: string, sec: number) => [
    what,
    `${Math.round(n / sec)}`,
    fmtMs((1000 * sec) / batches),
    `${(sec / gpuSec).toFixed(2)}×`,
  ];
  return [
    row("MLP 784-256-10, batch 128, GPU (WebGPU)", gpuSec),
    ...(tiledSec ? [row("same, every matmul on the tiled kernel (GPUs' default)", tiledSec)] : []),
    row("same model, plain TypeScript loops (CPU)", plain),
    row("same model, TypeScript skipping zero inputs (CPU)", skipping),
  ];
}

async function fullRun(gpu: Gpu, kind: ModelKind, data: { train: Split; test: Split }, inputShape: number[]) {
  const model = buildModel(gpu, { kind, inputShape, numClasses: 10, seed: 0 });
  const trainer = new Trainer(model, data, { epochs: EPOCHS, batchSize: 128, lr: 0.05, seed: 0 });
  const rows: string[][] = [];
  let extraction = "";
  const history = await trainer.fit({
    onEpoch: (m) => {
      const row = [
        kind,
        `${m.epoch}`,
        m.trainLoss.toFixed(4),
        m.testLoss.toFixed(4),
        `${(100 * m.testAccuracy).toFixed(2)}%`,
        m.seconds.toFixed(1),
        `${Math.round(m.samples / m.seconds)}`,
      ];
      rows.push(row);
      console.log(`  ${row.join("  ")}`);
    },
  });
  if (kind === "mlp") {
    const t0 = performance.now();
    const ex = await extract(model, data.train, { batchSize: 1000 });
    const sec = (performance.now() - t0) / 1000;
    ex.dispose();
    const epochSec = history.reduce((s, m) => s + m.seconds, 0) / history.length;
    extraction = table(["extraction (h, e, ℓ) of 60,000 samples", "seconds", "one training epoch", "ratio"], [
      [
        `MLP, D = ${model.embeddingDim}`,
        sec.toFixed(2),
        epochSec.toFixed(2),
        `${(sec / epochSec).toFixed(2)}×`,
      ],
    ]);
  }
  model.dispose();
  const best = Math.max(...history.map((m) => m.testAccuracy));
  return { rows, final: history.at(-1)!, best, extraction };
}

export async function main(): Promise<void> {
  const gpu = await acquireGpu();
  const ds = await loadFashionMnist();
  const inputShape = channelsLastShape(ds.inputShape);
  const data = { train: ds.train, test: ds.test! };
  console.log(`# Training benchmarks\n${await provenance(gpu)}\n`);
  console.log("## MLP throughput, GPU vs plain TypeScript\n");
  console.log(
    table(["what", "samples/s", "per batch", "time ÷ GPU time"], await throughput(gpu, ds.train, inputShape)),
  );
  const kinds: ModelKind[] = quick || args.includes("--throughput")
    ? []
    : args.includes("--cnn-only")
    ? ["cnn"]
    : args.includes("--cnn")
    ? ["mlp", "cnn"]
    : ["mlp"];
  for (const kind of kinds) {
    console.log(
      `\n## ${kind.toUpperCase()} on full Fashion-MNIST, ${EPOCHS} epochs (SGD, Nesterov 0.9, lr 0.05 cosine, wd 5e-4)\n`,
    );
    const r = await fullRun(gpu, kind, data, inputShape);
    console.log(
      "\n" + table(["model", "epoch", "train loss", "test loss", "test acc", "s/epoch", "samples/s"], r.rows),
    );
    console.log(
      `\nfinal test accuracy ${(100 * r.final.testAccuracy).toFixed(2)}% (best ${
        (100 * r.best).toFixed(2)
      }%)`,
    );
    if (r.extraction) console.log("\n" + r.extraction);
  }
  gpu.destroy();
}
