import assert from "node:assert/strict";
import { gaussianBlobsDataset } from "../../src/data/generate.ts";
import { type RunEpoch, type RunSubset, runTraining } from "../../src/runs/training.ts";
import { STRATEGY_NAMES } from "../../src/selection/mod.ts";
import { validateSubset } from "../../src/selection/budget.ts";
import { CancelledError, InvalidInputError } from "../../src/errors.ts";
import { testGpu } from "../ref.ts";
import { decodeCheckpoint } from "../../src/nn/checkpoint.ts";

const ds = gaussianBlobsDataset({ n: 400, d: 16, classes: 4, seed: 3, nTest: 200 });
const data = { train: ds.train, test: ds.test, inputShape: ds.inputShape, numClasses: ds.numClasses };

Deno.test("every strategy trains through runTraining: epochs reported, subsets valid, sensible accuracy", async () => {
  const gpu = await testGpu();
  for (const strategy of STRATEGY_NAMES) {
    const epochs: RunEpoch[] = [];
    const subsets: RunSubset[] = [];
    const r = await runTraining(gpu, {
      model: { kind: "mlp", hidden: [32], seed: 1 },
      data,
      train: { epochs: 4, batchSize: 32, lr: 0.05, seed: 1 },
      selection: { strategy, budget: 0.25, selectEvery: 2, warmEpochs: 1, nfgWarmEpochs: 2 },
      onEpoch: (e) => void epochs.push(e),
      onSubset: (s) => void subsets.push(s),
    });
    assert.equal(r.history.length, 4, strategy);
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4], strategy);
    assert.ok(r.finalAccuracy > 0.6, `${strategy}: accuracy ${r.finalAccuracy}`);
    if (strategy === "full") assert.equal(subsets.length, 0);
    else assert.ok(subsets.length >= 1, `${strategy} selected`);
    if (["random", "gradmatch", "craig"].includes(strategy)) {
      // Warm epoch 1 on everything, then selections before epochs 2 and 4.
      assert.deepEqual(subsets.map((s) => s.epoch), [2, 4], strategy);
      for (const s of subsets) validateSubset(s, 400, 100);
      assert.deepEqual(epochs.map((e) => e.subsetSize), [400, 100, 100, 100], strategy);
    }
    if (strategy === "nfg") validateSubset(subsets[0], 400, 100);
  }
});

Deno.test("runTraining: same seed, same run; bad plans are typed errors; abort stops it", async () => {
  const gpu = await testGpu();
  const run = () =>
    runTraining(gpu, {
      model: { kind: "mlp", hidden: [16], seed: 2 },
      data,
      train: { epochs: 2, batchSize: 50, seed: 2 },
      selection: { strategy: "gradmatch", budget: 40, selectEvery: 1 },
    });
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a.history.map((e) => e.testLoss), b.history.map((e) => e.testLoss));
  await assert.rejects(
    () =>
      runTraining(gpu, {
        model: { kind: "mlp", seed: 1 },
        data,
        train: { epochs: 1 },
        selection: { strategy: "random", budget: 401 },
      }),
    InvalidInputError,
  );
  const ctl = new AbortController();
  ctl.abort("test");
  await assert.rejects(
    () =>
      runTraining(gpu, {
        model: { kind: "mlp", seed: 1 },
        data,
        train: { epochs: 3 },
        selection: { strategy: "full", budget: 1 },
        signal: ctl.signal,
      }),
    CancelledError,
  );
});

Deno.test("Random is re-drawn every round unless fixed", async () => {
  const gpu = await testGpu();
  const draws = async (fixedRandom: boolean) => {
    const subsets: RunSubset[] = [];
    await runTraining(gpu, {
      model: { kind: "mlp", hidden: [8], seed: 4 },
      data,
      train: { epochs: 3, batchSize: 50, seed: 4 },
      selection: { strategy: "random", budget: 60, selectEvery: 1, fixedRandom },
      onSubset: (s) => void subsets.push(s),
    });
    return subsets;
  };
  const redrawn = await draws(false);
  assert.equal(redrawn.length, 3);
  assert.notDeepEqual([...redrawn[0].indices], [...redrawn[1].indices]);
  assert.equal((await draws(true)).length, 1);
});

Deno.test("a run resumed from its epoch checkpoint continues exactly as the uninterrupted run", async () => {
  const gpu = await testGpu();
  for (const strategy of ["random", "gradmatch", "nfg", "crest"] as const) {
    const checkpoints = new Map<number, Uint8Array>();
    const subsets: RunSubset[] = [];
    const base = {
      model: { kind: "mlp" as const, hidden: [16], seed: 4 },
      data,
      train: { epochs: 5, batchSize: 40, seed: 4 },
      selection: { strategy, budget: 0.3, selectEvery: 2, warmEpochs: 1, nfgWarmEpochs: 1 },
    };
    const calls: string[] = [];
    const whole = await runTraining(gpu, {
      ...base,
      onEpoch: (e) => void calls.push(`epoch ${e.epoch}`),
      onCheckpoint: (bytes, epoch) =>
        Promise.resolve(void (checkpoints.set(epoch, bytes), calls.push(`ck ${epoch}`))),
    });
    assert.deepEqual([...checkpoints.keys()], [1, 2, 3, 4, 5]);
    // An epoch is recorded before a checkpoint covers it: a run killed between the two resumes from the
    // previous checkpoint and records that epoch again, instead of skipping it.
    assert.deepEqual(calls, [1, 2, 3, 4, 5].flatMap((n) => [`epoch ${n}`, `ck ${n}`]), strategy);
    // Epoch 3 trains on the subset chosen before epoch 2 (held in the checkpoint); epoch 4 selects again.
    const resumed = await runTraining(gpu, {
      ...base,
      resume: decodeCheckpoint(checkpoints.get(2)!, "epoch 2"),
      onSubset: (s) => void subsets.push(s),
    });
    assert.deepEqual(resumed.history.map((e) => e.epoch), [3, 4, 5], strategy);
    assert.deepEqual(
      resumed.history.map((e) => [e.trainLoss, e.testLoss, e.subsetSize]),
      whole.history.slice(2).map((e) => [e.trainLoss, e.testLoss, e.subsetSize]),
      strategy,
    );
    if (strategy === "nfg") assert.equal(subsets.length, 0, "nfg: the subset comes from the checkpoint");
    else if (strategy === "crest") {
      // CREST's own state (random streams, coreset, quadratic model, δ, schedule) came back with the model:
      // the same re-selections, at the same steps, numbered on from the checkpoint's.
      assert.deepEqual(
        resumed.history.map((e) => [e.selectionSeconds > 0, e.samples]),
        whole.history.slice(2).map((e) => [e.selectionSeconds > 0, e.samples]),
      );
      const later = whole.subsets.filter((s) => s.epoch > 2);
      assert.ok(later.length >= 1, "CREST re-selects after epoch 2 in this run");
      assert.deepEqual(subsets.map((s) => [s.round, s.epoch]), later.map((s) => [s.round, s.epoch]));
    } else {
      assert.deepEqual(subsets.map((s) => s.epoch), [4], strategy);
      assert.deepEqual(subsets[0].indices, whole.subsets.find((s) => s.epoch === 4)!.indices, strategy);
    }
  }
});

Deno.test("CREST: a checkpoint of another strategy, or of another model, is a typed error on resume", async () => {
  const gpu = await testGpu();
  const base = {
    model: { kind: "mlp" as const, hidden: [16], seed: 4 },
    data,
    train: { epochs: 2, batchSize: 40, seed: 4 },
  };
  let random: Uint8Array | null = null;
  await runTraining(gpu, {
    ...base,
    selection: { strategy: "random", budget: 0.3 },
    onCheckpoint: (bytes) => Promise.resolve(void (random = bytes)),
  });
  await assert.rejects(
    () =>
      runTraining(gpu, {
        ...base,
        selection: { strategy: "crest", budget: 0.3 },
        resume: decodeCheckpoint(random!, "random run"),
      }),
    (e: unknown) => e instanceof InvalidInputError && /no CREST state/.test(e.message),
  );
  let crest: Uint8Array | null = null;
  await runTraining(gpu, {
    ...base,
    selection: { strategy: "crest", budget: 0.3 },
    onCheckpoint: (bytes) => Promise.resolve(void (crest = bytes)),
  });
  await assert.rejects(
    () =>
      runTraining(gpu, {
        ...base,
        model: { kind: "mlp", hidden: [24], seed: 4 },
        selection: { strategy: "crest", budget: 0.3 },
        resume: decodeCheckpoint(crest!, "crest run"),
      }),
    InvalidInputError,
  );
});
