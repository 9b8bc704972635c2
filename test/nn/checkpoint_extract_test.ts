import assert from "node:assert/strict";
import { gaussianBlobs } from "../../src/data/generate.ts";
import { buildModel } from "../../src/nn/model.ts";
import { Trainer } from "../../src/nn/train.ts";
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from "../../src/nn/checkpoint.ts";
import { extract } from "../../src/nn/extract.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { assertClose, maxAbs, testGpu } from "../ref.ts";
import { refLinear, refRelu } from "./ref_nn.ts";

const blobs = gaussianBlobs({ n: 300, d: 12, classes: 4, seed: 5 });
const data = { train: { features: blobs.features, labels: blobs.labels } };

Deno.test("checkpoint: save, load into a fresh model, and training resumes with the same numbers", async () => {
  const gpu = await testGpu();
  const dir = await Deno.makeTempDir();
  const spec = { kind: "mlp" as const, inputShape: [12], numClasses: 4, seed: 9, hidden: [16] };
  // Reference: 4 epochs in one go.
  const m1 = buildModel(gpu, spec);
  const t1 = new Trainer(m1, { ...data, test: data.train }, { epochs: 4, batchSize: 32, seed: 9 });
  const straight = await t1.fit();
  // Interrupted: 2 epochs, checkpoint, new model, resume for the last 2.
  const m2 = buildModel(gpu, spec);
  const t2 = new Trainer(m2, { ...data, test: data.train }, { epochs: 4, batchSize: 32, seed: 9 });
  await t2.fit({ endEpoch: 2 });
  await saveCheckpoint(`${dir}/ck`, m2, { epoch: 2, stepsDone: t2.stepsDone });
  const m3 = buildModel(gpu, { ...spec, seed: 1234 });
  const pos = await loadCheckpoint(`${dir}/ck`, m3);
  assert.equal(pos.epoch, 2);
  const t3 = new Trainer(m3, { ...data, test: data.train }, { epochs: 4, batchSize: 32, seed: 9 });
  const resumed = await t3.fit({ startEpoch: pos.epoch });
  assert.deepEqual(resumed.map((m) => m.testAccuracy), straight.slice(2).map((m) => m.testAccuracy));
  assertClose("resumed losses", resumed.map((m) => m.trainLoss), straight.slice(2).map((m) => m.trainLoss), {
    atol: 1e-6,
    rtol: 1e-5,
  });
  // Malformed files are typed errors.
  await Deno.writeTextFile(`${dir}/bad`, "hello");
  await assert.rejects(() => readCheckpoint(`${dir}/bad`), InvalidInputError);
  const bytes = await Deno.readFile(`${dir}/ck`);
  await Deno.writeFile(`${dir}/short`, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(() => readCheckpoint(`${dir}/short`), /truncated/);
  [m1, m2, m3].forEach((m) => m.dispose());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("extraction: h, e = softmax(z) − onehot(y) and ℓ match a float64 forward of the model", async () => {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape: [12], numClasses: 4, seed: 2, hidden: [16] });
  const [st] = [await model.state()];
  const [w1, b1, w2, b2] = st.map((s) => s.value);
  const indices = Uint32Array.from([5, 0, 299, 17, 42, 42]);
  const ex = await extract(model, data.train, { indices, batchSize: 4, grads: true });
  const [h, e, loss, g] = [await ex.h.read(), await ex.e.read(), await ex.loss.read(), await ex.g!.read()];
  for (const [r, row] of indices.entries()) {
    const x = blobs.features.subarray(row * 12, row * 12 + 12);
    const hRef = refRelu(refLinear(x, w1, b1, 1, 12, 16));
    const z = refLinear(hRef, w2, b2, 1, 16, 4);
    const m = Math.max(...z);
    const s = z.reduce((a, v) => a + Math.exp(v - m), 0);
    const p = z.map((v) => Math.exp(v - m) / s);
    const y = blobs.labels[row];
    const eRef = p.map((v, j) => v - (j === y ? 1 : 0));
    assertClose(
      `h row ${r}`,
      h.subarray(r * 16, r * 16 + 16),
      hRef,
      { atol: 1e-5, rtol: 1e-4 },
      maxAbs(hRef),
    );
    assertClose(`e row ${r}`, e.subarray(r * 4, r * 4 + 4), eRef, { atol: 1e-6, rtol: 1e-4 });
    assertClose(`loss row ${r}`, [loss[r]], [Math.log(s) + m - z[y]], { atol: 1e-5, rtol: 1e-4 });
    // gᵢ = [eᵢ ⊗ hᵢ, eᵢ]: the gradient of ℓᵢ with respect to the last layer's weights (4 × 16) and bias.
    const gRef = [...Array.from(eRef).flatMap((ea) => Array.from(hRef, (hb) => ea * hb)), ...eRef];
    assertClose(
      `g row ${r}`,
      g.subarray(r * 68, r * 68 + 68),
      gRef,
      { atol: 1e-5, rtol: 1e-4 },
      maxAbs(gRef),
    );
  }
  ex.dispose();
  await assert.rejects(
    () => extract(model, data.train, { indices: new Uint32Array([300]) }),
    InvalidInputError,
  );
  model.dispose();
});
