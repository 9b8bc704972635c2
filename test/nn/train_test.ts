import assert from "node:assert/strict";
import { loadFashionMnist } from "../../src/data/fashion_mnist.ts";
import { buildModel, channelsLastShape } from "../../src/nn/model.ts";
import { type Split, Trainer } from "../../src/nn/train.ts";
import { CancelledError, InvalidInputError } from "../../src/errors.ts";
import { testGpu } from "../ref.ts";

const full = await loadFashionMnist();
const D = 784;
const slice = (s: Split, n: number): Split => ({
  features: s.features.subarray(0, n * D),
  labels: s.labels.subarray(0, n),
});
const train = slice(full.train, 2000);
const test = slice(full.test!, 1000);
const inputShape = channelsLastShape(full.inputShape);

async function trainMlp(seed: number, epochs: number) {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape, numClasses: 10, seed });
  const trainer = new Trainer(model, { train, test }, { epochs, batchSize: 64, lr: 0.05, seed });
  const history = await trainer.fit();
  model.dispose();
  return history;
}

Deno.test("MLP on a 2,000-sample slice of Fashion-MNIST: ≥ 75% test accuracy in 3 epochs, reproducible", async () => {
  const a = await trainMlp(1, 3);
  const b = await trainMlp(1, 3);
  const last = a.at(-1)!;
  assert.ok(last.testAccuracy >= 0.75, `test accuracy ${last.testAccuracy}`);
  assert.ok(a[0].trainLoss > last.trainLoss, "training loss should fall");
  assert.deepEqual(
    a.map((m) => [m.trainLoss, m.testLoss, m.testAccuracy]),
    b.map((m) => [m.trainLoss, m.testLoss, m.testAccuracy]),
    "same seed, same numbers",
  );
  const c = await trainMlp(2, 1);
  assert.notEqual(c[0].trainLoss, a[0].trainLoss, "another seed gives another run");
});

Deno.test("training on a weighted subset uses only its samples; an aborted run stops with CancelledError", async () => {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape, numClasses: 10, seed: 3, hidden: [32] });
  const trainer = new Trainer(model, { train, test }, { epochs: 2, batchSize: 50, seed: 3 });
  const subset = {
    indices: Uint32Array.from({ length: 300 }, (_, i) => i * 3),
    weights: new Float32Array(300).fill(2),
  };
  const history = await trainer.fit({ subset });
  assert.equal(history.length, 2);
  assert.equal(history[0].samples, 300);
  await assert.rejects(
    () => trainer.fit({ subset: { indices: new Uint32Array([1, 5000]), weights: new Float32Array([1, 1]) } }),
    (e: unknown) => e instanceof InvalidInputError && /5000/.test(e.message),
  );
  const ctl = new AbortController();
  let batches = 0;
  await assert.rejects(
    () =>
      trainer.fit({
        signal: ctl.signal,
        onBatch: () => {
          if (++batches === 1) ctl.abort("test");
        },
      }),
    CancelledError,
  );
  model.dispose();
});
