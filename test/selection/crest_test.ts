import assert from "node:assert/strict";
import {
  type CrestCheckEvent,
  type CrestEpochMetrics,
  type CrestSelectionEvent,
  type CrestState,
  crestStepsPerEpoch,
  CrestTrainer,
  decodeCrestState,
  encodeCrestState,
  fdHessianVector,
  fitQuadratic,
  HessianMoments,
  miniBatchCoresets,
  miniBatchCoresetsReference,
  needsReselection,
  nextCheckSchedule,
  poolSizePerClass,
  probeCurvature,
  quadraticPrediction,
  rademacher,
  recordLosses,
  rescaleToMeanOne,
  stratifiedSubsets,
  updatePool,
} from "../../src/selection/crest.ts";
import { gaussianBlobsDataset } from "../../src/data/generate.ts";
import { buildModel, channelsLastShape } from "../../src/nn/model.ts";
import { loadFashionMnist } from "../../src/data/fashion_mnist.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { CancelledError, InvalidInputError } from "../../src/errors.ts";
import { assertClose, maxAbs, randn, Rng, testGpu } from "../ref.ts";

Deno.test("CREST stratification: exact per-class counts, without replacement within a class, uniform, seeded", () => {
  assert.equal(poolSizePerClass(50000, { numClasses: 10, poolFraction: 0.01 }), 50);
  assert.equal(poolSizePerClass(2000, { numClasses: 10, poolFraction: 0.01 }), 2);
  assert.equal(poolSizePerClass(50000, { numClasses: 100, poolFraction: 0.01 }), 5);
  assert.equal(
    crestStepsPerEpoch(50000, { trainFraction: 0.1, batchSize: 128 }),
    40,
    "CIFAR-10 at 10%: 40 steps an epoch",
  );
  const pools = [
    Uint32Array.from({ length: 50 }, (_, i) => 2 * i),
    Uint32Array.from([1, 3, 5, 7, 9, 11, 13]),
    new Uint32Array(0),
  ];
  const subsets = stratifiedSubsets(pools, { perClass: 10, count: 4, rng: new Rng(1) });
  assert.equal(subsets.length, 4);
  for (const s of subsets) {
    assert.deepEqual(s.map((b) => b.length), [10, 7, 0]);
    s.forEach((b, c) => {
      assert.equal(new Set(b).size, b.length, "no repeats within a class block");
      b.forEach((i) => assert.ok(pools[c].includes(i), `row ${i} is from class ${c}`));
    });
  }
  assert.notDeepEqual([...subsets[0][0]], [...subsets[1][0]], "subsets are independent draws");
  assert.deepEqual(
    stratifiedSubsets(pools, { perClass: 10, count: 4, rng: new Rng(1) }),
    subsets,
    "same seed, same draw",
  );
  // Each of 10 rows is drawn with probability 3/10: 3000 draws → 900 ± 25 (σ) each.
  const counts = new Array(10).fill(0);
  const rng = new Rng(2);
  const pool = [Uint32Array.from({ length: 10 }, (_, i) => i)];
  for (let r = 0; r < 3000; r++) {
    stratifiedSubsets(pool, { perClass: 3, count: 1, rng })[0][0].forEach((i) => counts[i]++);
  }
  counts.forEach((k, i) => assert.ok(Math.abs(k - 900) < 125, `row ${i} drawn ${k} times`));
});

Deno.test("CREST coresets: GPU similarity + lazy greedy match the float64 twin; weights are cluster sizes, mean 1", async () => {
  const gpu = await testGpu();
  const rng = new Rng(3);
  const rows = 170, c = 5;
  const z = randn(rng, rows, c, 0.4);
  const zt = tensor(gpu, z, [rows, c], "z");
  const sizes = [30, 1, 0, 12, 60, 3, 64];
  let off = 0;
  const blocks = sizes.map((m) => Uint32Array.from({ length: m }, () => off++));
  for (const perClass of [1, 4, 13]) {
    const opts = { perClass, scale: c, readbackBytes: 4096 };
    const got = await miniBatchCoresets(zt, blocks, opts);
    const ref = miniBatchCoresetsReference(z, blocks, { d: c, perClass, scale: c });
    assert.deepEqual([...got.positions], [...ref.positions], `perClass ${perClass}`);
    assertClose(`weights, perClass ${perClass}`, got.weights, ref.weights, { atol: 1e-6, rtol: 1e-6 });
    assert.equal(got.positions.length, sizes.reduce((s, m) => s + Math.min(m, perClass), 0));
    const mean = got.weights.reduce((a, b) => a + b, 0) / got.weights.length;
    assertClose("mean weight", [mean], [1], { atol: 1e-6, rtol: 0 });
    // Before rescaling, a block's weights add up to its size (no duplicate rows): the factor is count / Σ m.
    const factor = got.positions.length / sizes.reduce((a, b) => a + b, 0);
    blocks.forEach((b, i) => {
      const inBlock = [...got.positions.keys()].filter((t) => b.includes(got.positions[t]));
      const w = inBlock.reduce((s, t) => s + got.weights[t], 0);
      assertClose(`block ${i} weight`, [w / factor], [b.length], { atol: 1e-4, rtol: 1e-5 });
    });
  }
  assertClose("rescale", rescaleToMeanOne([1, 2, 3, 6]), [1 / 3, 2 / 3, 1, 2], { atol: 0, rtol: 1e-7 });
  zt.dispose();
});

Deno.test("CREST Hessian: FD Hv of a CPU quadratic is Av; Hutchinson averages to diag(A); AdaHessian moments", () => {
  const rng = new Rng(4);
  const n = 6;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  const b = Float64Array.from({ length: n }, () => rng.normal());
  const grad = (t: Float64Array) =>
    Float64Array.from(b, (bi, i) => bi + t.reduce((s, tj, j) => s + a[i * n + j] * tj, 0));
  const theta = Float64Array.from({ length: n }, () => rng.normal());
  const sum = new Float64Array(n);
  const draws = 4000;
  for (let r = 0; r < draws; r++) {
    const v = rademacher(rng, n);
    const hv = fdHessianVector(grad, { theta, v, eps: 1e-3 });
    const av = Float64Array.from({ length: n }, (_, i) => v.reduce((s, vj, j) => s + a[i * n + j] * vj, 0));
    if (r < 5) assertClose(`FD Hv, draw ${r}`, hv, av, { atol: 1e-9, rtol: 1e-9 });
    hv.forEach((x, i) => sum[i] += v[i] * x);
  }
  const diag = Float64Array.from({ length: n }, (_, i) => a[i * n + i]);
  // v ⊙ Av has mean Aᵢᵢ and standard deviation √Σⱼ≠ᵢ Aᵢⱼ² (≤ ~3 here); 4000 draws → ≤ 0.05.
  assertClose("Hutchinson mean", sum.map((s) => s / draws), diag, { atol: 0.25, rtol: 0 });
  // A diagonal Hessian: v ⊙ Hv = diag exactly, and the bias-corrected moments recover |diag| + eps and g.
  const moments = new HessianMoments(n, { beta1: 0.9, beta2: 0.999, eps: 1e-4 });
  const g = Float64Array.from({ length: n }, () => rng.normal());
  for (let t = 0; t < 7; t++) {
    const v = rademacher(rng, n);
    const est = moments.update(g, Float64Array.from(diag, (d, i) => v[i] * d * v[i]));
    assertClose(`ĝ at t = ${t}`, est.g, g, { atol: 1e-12, rtol: 1e-12 });
    assertClose(`H at t = ${t}`, est.h, diag.map((d) => Math.abs(d) + 1e-4), { atol: 1e-12, rtol: 1e-12 });
  }
  // Rademacher entries are ±1 with both signs present.
  const v = rademacher(new Rng(9), 1000);
  assert.ok(v.every((x) => x === 1 || x === -1) && Math.abs(v.reduce((s, x) => s + x, 0)) < 150);
});

Deno.test("CREST quadratic model: the fit averages by batch size, the prediction formula, the τ trigger, T₁ and P", () => {
  const moments = new HessianMoments(2, { beta1: 0.9, beta2: 0.999, eps: 1e-4 });
  const fit = fitQuadratic(moments, [
    { size: 3, loss: 1, grad: [1, 0], vHv: [2, 2] },
    { size: 1, loss: 5, grad: [1, 0], vHv: [2, 2] },
  ]);
  assertClose("L₀", [fit.l0], [2], { atol: 1e-12, rtol: 0 });
  assertClose("g", fit.g, [1, 0], { atol: 1e-12, rtol: 0 });
  assertClose("H", fit.h, [2.0001, 2.0001], { atol: 1e-12, rtol: 0 });
  assertClose("‖H‖", [fit.hNorm], [2.0001 * Math.SQRT2], { atol: 1e-12, rtol: 0 });
  // On an exactly quadratic loss with diagonal Hessian the prediction is the loss.
  const rng = new Rng(5);
  const n = 50;
  const [g, h, d] = [
    randn(rng, n),
    Float64Array.from({ length: n }, () => rng.next()),
    randn(rng, n, 1, 0.1),
  ];
  let expected = 0.7;
  for (let i = 0; i < n; i++) expected += g[i] * d[i] + 0.5 * h[i] * d[i] * d[i];
  assertClose("prediction", [quadraticPrediction({ l0: 0.7, g, h }, d)], [expected], {
    atol: 1e-12,
    rtol: 1e-12,
  });
  assert.equal(quadraticPrediction({ l0: 0.7, g, h }, new Float32Array(n)), 0.7);
  // τ = 0.1: re-select when |true − predicted| > 0.1·true, strictly.
  const check = (trueLoss: number, predicted: number, tau: number) =>
    needsReselection({ trueLoss, predicted }, tau);
  assert.equal(check(1, 1.05, 0.1), false);
  assert.equal(check(1, 0.95, 0.1), false);
  assert.equal(check(1, 1.2, 0.1), true);
  assert.equal(check(1, 0.85, 0.1), true);
  assert.equal(check(2, 2.25, 0.125), false, "exactly τ·true does not trigger");
  assert.equal(check(1, 1, 0), false);
  const opts = { intervalMul: 1, batchNumMul: 5, stepsPerEpoch: 40 };
  assert.deepEqual(nextCheckSchedule(2, 1, opts), { checkInterval: 2, subsets: 10 });
  assert.deepEqual(nextCheckSchedule(1, 3, opts), { checkInterval: 1, subsets: 5 });
  assert.deepEqual(nextCheckSchedule(100, 1, opts), { checkInterval: 100, subsets: 40 });
  assert.deepEqual(nextCheckSchedule(3, 2, { ...opts, intervalMul: 2 }), { checkInterval: 3, subsets: 15 });
});

Deno.test("CREST drop learned: losses by slot, pools keep high-loss and unseen samples, guards", () => {
  const n = 8;
  const watch = new Float32Array(2 * n).fill(-1);
  const classes = [Uint32Array.from([0, 1, 2, 3]), Uint32Array.from([4, 5, 6, 7])];
  recordLosses(watch, { n, slot: 0, rows: [0, 1, 4, 5, 6], losses: [0.05, 0.5, 0.01, 0.02, 0.03] });
  recordLosses(watch, { n, slot: 1, rows: [0], losses: [0.01] });
  const opts = { classes, old: classes, n, slots: 2, perClass: 1, threshold: 0.1, minTrainSize: 3 };
  // Class 0 keeps 1 (loss 0.5), 2 and 3 (unseen); class 1 would keep only 7 (≤ perClass) → its old pool.
  assert.deepEqual(updatePool(watch, opts).map((p) => [...p]), [[1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(updatePool(watch, { ...opts, minTrainSize: 7 }), classes, "too small: old pools");
});

/** Softmax regression in float64: loss, gradient and exact Hv of mean(wᵢℓᵢ); W (D, C), b (C). */
function softmaxRegression(
  x: Float32Array,
  y: Uint32Array,
  w: Float32Array,
  p: { W: Float32Array; b: Float32Array; d: number; c: number },
  v: Float32Array,
) {
  const { d, c } = p;
  const grad = new Float64Array(d * c + c), hv = new Float64Array(d * c + c);
  let loss = 0;
  for (let i = 0; i < y.length; i++) {
    const xi = x.subarray(i * d, (i + 1) * d);
    const z = Array.from(
      { length: c },
      (_, k) => p.b[k] + xi.reduce((s, xv, t) => s + xv * p.W[t * c + k], 0),
    );
    const m = Math.max(...z);
    const e = z.map((zk) => Math.exp(zk - m));
    const se = e.reduce((a, b) => a + b, 0);
    const pr = e.map((ek) => ek / se);
    loss += w[i] * (Math.log(se) + m - z[y[i]]) / y.length;
    const dz = Array.from(
      { length: c },
      (_, k) => v[d * c + k] + xi.reduce((s, xv, t) => s + xv * v[t * c + k], 0),
    );
    const pdz = pr.reduce((s, pk, k) => s + pk * dz[k], 0);
    for (let k = 0; k < c; k++) {
      const gk = (w[i] * (pr[k] - (k === y[i] ? 1 : 0))) / y.length;
      const hk = (w[i] * (pr[k] * dz[k] - pr[k] * pdz)) / y.length;
      for (let t = 0; t < d; t++) {
        [grad[t * c + k], hv[t * c + k]] = [grad[t * c + k] + xi[t] * gk, hv[t * c + k] + xi[t] * hk];
      }
      grad[d * c + k] += gk;
      hv[d * c + k] += hk;
    }
  }
  return { loss, grad, hv };
}

Deno.test("CREST GPU probe: loss, gradient and FD Hv match softmax regression in float64; Hv is symmetric for an MLP", async () => {
  const gpu = await testGpu();
  const ds = gaussianBlobsDataset({ n: 40, d: 7, classes: 3, seed: 6, centerScale: 1 });
  const rows = Uint32Array.from({ length: 25 }, (_, i) => i + 3);
  const weights = Float32Array.from(rows, (_, i) => 0.5 + (i % 3) * 0.5);
  const lin = buildModel(gpu, { kind: "mlp", inputShape: [7], numClasses: 3, hidden: [], seed: 6 });
  const before = await lin.state();
  const [W, b] = before.map((s) => s.value);
  const v = rademacher(new Rng(7), 7 * 3 + 3);
  const got = await probeCurvature(lin, { split: ds.train, rows, weights, v, eps: 1e-3 });
  const x = new Float32Array(rows.length * 7);
  rows.forEach((r, i) => x.set(ds.train.features.subarray(r * 7, r * 7 + 7), i * 7));
  const ref = softmaxRegression(x, Uint32Array.from(rows, (r) => ds.train.labels[r]), weights, {
    W,
    b,
    d: 7,
    c: 3,
  }, v);
  assertClose("loss", [got.loss], [ref.loss], { atol: 1e-6, rtol: 1e-5 });
  assertClose("gradient", got.grad, ref.grad, { atol: 1e-6, rtol: 1e-4 }, maxAbs(ref.grad));
  assertClose("Hv", got.hv, ref.hv, { atol: 3e-3, rtol: 0 }, maxAbs(ref.hv));
  assert.deepEqual(await lin.state(), before, "the probe leaves the parameters bit-for-bit unchanged");
  // A ReLU MLP: uᵀ(Hv) = vᵀ(Hu) for a symmetric Hessian.
  const mlp = buildModel(gpu, { kind: "mlp", inputShape: [7], numClasses: 3, hidden: [6], seed: 8 });
  const nParams = mlp.parameterCount;
  const [u, w2] = [rademacher(new Rng(10), nParams), rademacher(new Rng(11), nParams)];
  const hu = (await probeCurvature(mlp, { split: ds.train, rows, v: u, eps: 1e-3 })).hv;
  const hw = (await probeCurvature(mlp, { split: ds.train, rows, v: w2, eps: 1e-3 })).hv;
  const [a1, a2] = [w2.reduce((s, x, i) => s + x * hu[i], 0), u.reduce((s, x, i) => s + x * hw[i], 0)];
  assertClose("uᵀHv = vᵀHu", [a1], [a2], { atol: 1e-2 * Math.max(1, Math.abs(a1)), rtol: 0 });
  await assert.rejects(
    () => probeCurvature(mlp, { split: ds.train, rows, v: new Float32Array(3), eps: 1e-3 }),
    InvalidInputError,
  );
  lin.dispose();
  mlp.dispose();
});

const blobs = gaussianBlobsDataset({
  n: 1200,
  nTest: 400,
  d: 16,
  classes: 4,
  seed: 12,
  spread: 1.5,
  centerScale: 2,
});

async function crestRun(seed: number, events: { sel: CrestSelectionEvent[]; epochs: CrestEpochMetrics[] }) {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape: [16], numClasses: 4, hidden: [32], seed });
  const trainer = new CrestTrainer(model, { train: blobs.train, test: blobs.test }, {
    epochs: 12,
    batchSize: 32,
    lr: 0.1,
    poolFraction: 0.05,
    seed,
  });
  const result = await trainer.fit({
    onSelection: (e) => events.sel.push(e),
    onEpoch: (m) => void events.epochs.push(m),
  });
  model.dispose();
  return { result, trainer };
}

Deno.test("CREST end to end on Gaussian blobs: learns, counts steps and selections, deterministic per seed", async () => {
  const a = { sel: [] as CrestSelectionEvent[], epochs: [] as CrestEpochMetrics[] };
  const { result, trainer } = await crestRun(1, a);
  // 10% of 1,200 = 120 samples = 4 steps of 32 an epoch; 12 epochs.
  assert.equal(trainer.stepsPerEpoch, 4);
  assert.equal(result.steps, 48);
  assert.equal(result.history.length, 12);
  assert.ok(result.selections >= 2 && result.selections === a.sel.length, "checks trigger re-selection");
  assert.ok(result.checks >= 1 && result.checks < result.steps, "checks every T₁ steps, and T₁ grows");
  // First selection: step 0, P = 5 subsets of ⌈0.05·1200/4⌉ = 15 per class, ⌈32/4⌉ = 8 picks per class.
  assert.deepEqual([a.sel[0].step, a.sel[0].subsets, a.sel[0].size], [0, 5, 5 * 4 * 8]);
  const last = result.history.at(-1)!;
  assert.ok(last.testAccuracy >= 0.9, `test accuracy ${last.testAccuracy} (full data, 10 epochs: 0.91–0.96)`);
  assert.ok(result.history[0].trainLoss > last.trainLoss, "training loss falls");
  assert.equal(last.steps, 48);
  // Coresets hold P·4·8 entries, a multiple of 32, so every batch is full.
  assert.equal(result.history.reduce((s, m) => s + m.samples, 0), 48 * 32);
  const b = { sel: [] as CrestSelectionEvent[], epochs: [] as CrestEpochMetrics[] };
  const again = await crestRun(1, b);
  const key = (r: typeof result) =>
    r.history.map((m) => [m.trainLoss, m.testLoss, m.testAccuracy, m.selections, m.checks]);
  assert.deepEqual(key(again.result), key(result), "same seed, same run");
  assert.deepEqual(
    b.sel.map((e) => [e.step, e.size, e.subsets, e.checkInterval, e.l0]),
    a.sel.map((e) => [e.step, e.size, e.subsets, e.checkInterval, e.l0]),
  );
});

Deno.test("CREST on 2,000 Fashion-MNIST samples: ≥ 65% test accuracy from 56 steps of 32", async () => {
  const gpu = await testGpu();
  const full = await loadFashionMnist();
  const D = 784;
  const train = {
    features: full.train.features.subarray(0, 2000 * D),
    labels: full.train.labels.subarray(0, 2000),
  };
  const test = {
    features: full.test!.features.subarray(0, 1000 * D),
    labels: full.test!.labels.subarray(0, 1000),
  };
  const inputShape = channelsLastShape(full.inputShape);
  const model = buildModel(gpu, { kind: "mlp", inputShape, numClasses: 10, hidden: [64], seed: 1 });
  const trainer = new CrestTrainer(model, { train, test }, {
    epochs: 8,
    batchSize: 32,
    poolFraction: 0.05,
    seed: 1,
  });
  const result = await trainer.fit();
  assert.equal(result.steps, 8 * 7);
  const acc = result.history.at(-1)!.testAccuracy;
  assert.ok(acc >= 0.65, `test accuracy ${acc}`);
  model.dispose();
});

Deno.test("CREST: cancellation and bad settings are typed errors", async () => {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape: [16], numClasses: 4, hidden: [8], seed: 2 });
  const data = { train: blobs.train, test: blobs.test };
  assert.throws(() => new CrestTrainer(model, data, { poolFraction: 0 }), InvalidInputError);
  assert.throws(() => new CrestTrainer(model, data, { batchSize: 0 }), InvalidInputError);
  const ctl = new AbortController();
  const trainer = new CrestTrainer(model, data, { epochs: 3, batchSize: 32, poolFraction: 0.05 });
  await assert.rejects(
    () => trainer.fit({ signal: ctl.signal, onSelection: () => ctl.abort("test") }),
    CancelledError,
  );
  model.dispose();
});

Deno.test("CREST state: restored with the model's tensors after an epoch, a trainer goes on exactly", async () => {
  const gpu = await testGpu();
  const RESUME_AFTER = 5;
  // Learned-example dropping on (watch and pools in the state), re-selections, checks and reshuffles.
  const config = {
    epochs: 9,
    batchSize: 32,
    lr: 0.1,
    poolFraction: 0.05,
    seed: 3,
    dropLearned: true,
    watchInterval: 2,
    dropInterval: 3,
    minTrainSize: 100,
  };
  type Tensors = Awaited<ReturnType<ReturnType<typeof buildModel>["state"]>>;
  const run = async (from?: { state: CrestState; tensors: Tensors }) => {
    const model = buildModel(gpu, { kind: "mlp", inputShape: [16], numClasses: 4, hidden: [32], seed: 3 });
    const trainer = new CrestTrainer(model, { train: blobs.train, test: blobs.test }, config);
    if (from) {
      model.load(from.tensors);
      // Through the checkpoint encoding, as a resumed run gets it.
      trainer.restore(decodeCrestState(JSON.parse(JSON.stringify(encodeCrestState(from.state)))));
    }
    const checks: CrestCheckEvent[] = [];
    const selections: CrestSelectionEvent[] = [];
    type Snap = { state: CrestState; tensors: Tensors };
    const snaps: { saved?: Snap; last?: Snap } = {};
    const r = await trainer.fit({
      onCheck: (e) => void checks.push(e),
      onSelection: (e) => void selections.push(e),
      onEpoch: async (m) => {
        snaps.last = { state: await trainer.state(), tensors: await model.state() };
        if (m.epoch === RESUME_AFTER) snaps.saved = snaps.last;
      },
    });
    model.dispose();
    return { r, checks, selections, saved: snaps.saved, last: snaps.last! };
  };
  const whole = await run();
  const resumed = await run(whole.saved!);
  const resumeStep = whole.saved!.state.steps;
  assert.equal(whole.saved!.state.epoch, RESUME_AFTER);
  const epochKey = (
    m: CrestEpochMetrics,
  ) => [m.epoch, m.trainLoss, m.testLoss, m.testAccuracy, m.samples, m.lr, m.selections, m.steps, m.checks];
  assert.deepEqual(resumed.r.history.map(epochKey), whole.r.history.slice(RESUME_AFTER).map(epochKey));
  const key = (e: CrestCheckEvent) => [e.step, e.trueLoss, e.predicted, e.reselect];
  assert.deepEqual(resumed.checks.map(key), whole.checks.filter((e) => e.step >= resumeStep).map(key));
  const later = whole.selections.filter((e) => e.step >= resumeStep);
  assert.ok(later.length >= 1 && resumed.checks.length >= 1, "the resumed part re-selects and checks");
  const sel = (e: CrestSelectionEvent) => [e.round, e.step, e.size, e.subsets, e.checkInterval, e.l0];
  assert.deepEqual(resumed.selections.map(sel), later.map(sel));
  // Everything at the end — streams, pools, watch, moments, coreset, δ, schedule; parameters, momentum.
  assert.deepEqual(resumed.last.state, whole.last.state);
  assert.deepEqual(resumed.last.tensors, whole.last.tensors);
  assert.ok(
    whole.last.state.pool.some((p, c) => p.length < blobsClassSize(c)),
    "learned examples were dropped",
  );
});

Deno.test("CREST state: a state of another run shape is a typed error", async () => {
  const gpu = await testGpu();
  const model = buildModel(gpu, { kind: "mlp", inputShape: [16], numClasses: 4, hidden: [32], seed: 3 });
  const cfg = { epochs: 2, batchSize: 32, poolFraction: 0.05, seed: 3 };
  const a = new CrestTrainer(model, { train: blobs.train, test: blobs.test }, cfg);
  let state: CrestState | null = null;
  await a.fit({ onEpoch: async () => void (state = await a.state()) });
  const fresh = () => new CrestTrainer(model, { train: blobs.train, test: blobs.test }, cfg);
  const s = state!;
  assert.throws(() => fresh().restore({ ...s, delta: s.delta.subarray(1) }), InvalidInputError);
  assert.throws(() => fresh().restore({ ...s, epoch: 3 }), InvalidInputError);
  assert.throws(() => fresh().restore({ ...s, pool: s.pool.slice(1) }), InvalidInputError);
  assert.throws(
    () => fresh().restore({ ...s, union: Uint32Array.of(blobs.train.labels.length) }),
    InvalidInputError,
  );
  assert.throws(() => fresh().restore({ ...s, watch: new Float32Array(3) }), InvalidInputError);
  assert.throws(() => decodeCrestState({ epoch: "x" }), InvalidInputError);
  model.dispose();
});

function blobsClassSize(c: number): number {
  return blobs.train.labels.filter((y) => y === c).length;
}
