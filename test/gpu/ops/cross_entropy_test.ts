import assert from "node:assert/strict";
import {
  crossEntropy,
  type CrossEntropyOutputs,
  crossEntropyTolerance,
  encodeCrossEntropy,
} from "../../../src/gpu/ops/cross_entropy.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** A labelled, weighted batch as host arrays. */
interface Batch {
  n: number;
  c: number;
  z: Float32Array;
  y: Uint32Array;
  w: Float32Array;
}

function randomBatch(seed: number, n: number, c: number, std = 3): Batch {
  const rng = new Rng(seed);
  const z = randn(rng, n, c, std);
  const y = Uint32Array.from({ length: n }, () => rng.int(c));
  const w = Float32Array.from({ length: n }, () => 2 * rng.next());
  return { n, c, z, y, w };
}

/** Float64 ℓ_i = logsumexp(z_i) − z_i[y_i], computed directly with the max subtracted. */
function refLosses(b: Batch, z: ArrayLike<number> = b.z): Float64Array {
  const l = new Float64Array(b.n);
  for (let i = 0; i < b.n; i++) {
    let m = -Infinity;
    for (let j = 0; j < b.c; j++) m = Math.max(m, z[i * b.c + j]);
    let s = 0;
    for (let j = 0; j < b.c; j++) s += Math.exp(z[i * b.c + j] - m);
    l[i] = m + Math.log(s) - z[i * b.c + b.y[i]];
  }
  return l;
}

/** Float64 scale · Σ w_i ℓ_i: the function whose gradient the kernel writes. */
function refObjective(b: Batch, scale: number, z: ArrayLike<number> = b.z): number {
  return refLosses(b, z).reduce((acc, l, i) => acc + scale * b.w[i] * l, 0);
}

/** Float64 analytic gradient scale · w_i · (softmax(z_i) − onehot(y_i)). */
function refGradient(b: Batch, scale: number): Float64Array {
  const g = new Float64Array(b.n * b.c);
  for (let i = 0; i < b.n; i++) {
    let m = -Infinity;
    for (let j = 0; j < b.c; j++) m = Math.max(m, b.z[i * b.c + j]);
    let s = 0;
    for (let j = 0; j < b.c; j++) s += Math.exp(b.z[i * b.c + j] - m);
    for (let j = 0; j < b.c; j++) {
      const p = Math.exp(b.z[i * b.c + j] - m) / s;
      g[i * b.c + j] = scale * b.w[i] * (p - (j === b.y[i] ? 1 : 0));
    }
  }
  return g;
}

/** Runs the kernel on `b`; returns loss and dlogits read back. */
async function gpuCrossEntropy(gpu: Gpu, b: Batch, scale: number) {
  const inputs = {
    logits: tensor(gpu, b.z, [b.n, b.c]),
    labels: tensor(gpu, b.y),
    weights: tensor(gpu, b.w),
  };
  let out!: CrossEntropyOutputs;
  await run(gpu, "cross_entropy test", (s) => (out = crossEntropy(s, inputs, { scale })));
  const got = { loss: await out.loss.read(), dlogits: await out.dlogits.read() };
  [inputs.logits, inputs.labels, inputs.weights, out.loss, out.dlogits].forEach((t) => t.dispose());
  return got;
}

/** Compares loss and dlogits with the float64 references. */
function checkAgainstRef(
  what: string,
  b: Batch,
  scale: number,
  got: { loss: Float32Array; dlogits: Float32Array },
) {
  const tol = crossEntropyTolerance(b.c);
  const loss = refLosses(b).map((l, i) => b.w[i] * l);
  assertClose(`${what} loss`, got.loss, loss, tol, maxAbs(loss));
  assertClose(`${what} dlogits`, got.dlogits, refGradient(b, scale), tol, scale * maxAbs(b.w));
}

Deno.test("cross_entropy: loss and gradient match float64 at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [0, 5], [0, 0], [3, 64], [2, 65], [5, 255], [4, 256], [3, 257]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2) as [number, number]);
  let seed = 100;
  for (const [n, c] of cases) {
    const b = randomBatch(seed, n, c);
    const scale = 1 / Math.max(b.w.reduce((a, v) => a + v, 0), 1e-3);
    checkAgainstRef(
      `cross_entropy n=${n} c=${c} seed=${seed++}`,
      b,
      scale,
      await gpuCrossEntropy(gpu, b, scale),
    );
  }
});

Deno.test("cross_entropy: the gradient matches central finite differences of the float64 loss", async () => {
  const gpu = await testGpu();
  const b = randomBatch(3, 5, 7);
  const scale = 1 / b.w.reduce((a, v) => a + v, 0);
  const { dlogits } = await gpuCrossEntropy(gpu, b, scale);
  const h = 1e-5;
  const fd = new Float64Array(b.n * b.c);
  for (let e = 0; e < fd.length; e++) {
    const z = Float64Array.from(b.z);
    z[e] = b.z[e] + h;
    const up = refObjective(b, scale, z);
    z[e] = b.z[e] - h;
    fd[e] = (up - refObjective(b, scale, z)) / (2 * h);
  }
  assertClose(
    "cross_entropy dlogits vs finite differences",
    dlogits,
    fd,
    crossEntropyTolerance(b.c),
    scale * maxAbs(b.w),
  );
  // The reference gradient itself agrees with the differences far more tightly (float64 throughout).
  assertClose("reference gradient vs finite differences", refGradient(b, scale), fd, {
    atol: 1e-9,
    rtol: 1e-6,
  });
});

Deno.test("cross_entropy: large logits do not overflow", async () => {
  const gpu = await testGpu();
  for (const [n, c] of [[6, 37], [6, 200], [6, 257]]) {
    // Logits around ±1000 with a spike 100 above the rest in the first, last or a middle column:
    // exp(z − m) overflows unless m is the true row max.
    const b = randomBatch(5, n, c);
    for (let i = 0; i < n; i++) {
      const offset = i % 2 ? 1000 : -1000;
      for (let j = 0; j < c; j++) b.z[i * c + j] += offset;
      b.z[i * c + [0, c - 1, (i * 7) % c][i % 3]] = offset + 100;
    }
    checkAgainstRef(`cross_entropy large logits n=${n} c=${c}`, b, 0.5, await gpuCrossEntropy(gpu, b, 0.5));
  }
});

Deno.test("cross_entropy: a wrong label column or a missing weight is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const b = randomBatch(7, 9, 9);
  const got = await gpuCrossEntropy(gpu, b, 1);
  checkAgainstRef("cross_entropy 9x9", b, 1, got);
  const shifted = { ...b, y: b.y.map((y) => (y + 1) % b.c) };
  assert.throws(() => checkAgainstRef("off-by-one label", shifted, 1, got));
  const unweighted = { ...b, w: new Float32Array(b.n).fill(1) };
  assert.throws(() => checkAgainstRef("unweighted", unweighted, 1, got));
});

Deno.test("cross_entropy: a label ≥ c reads nothing out of bounds: NaN loss, zero gradient row", async () => {
  const gpu = await testGpu();
  const b = randomBatch(9, 4, 6);
  b.y[1] = 6;
  b.y[2] = 0xffffffff;
  const got = await gpuCrossEntropy(gpu, b, 1);
  assert.ok(Number.isNaN(got.loss[1]) && Number.isNaN(got.loss[2]), `losses ${got.loss}`);
  assert.deepEqual([...got.dlogits.subarray(6, 18)], new Array(12).fill(0));
  // Rows 0 and 3 are untouched: they match a batch made of those two rows alone.
  const pick = (a: Float32Array, width: number) =>
    Float32Array.of(...a.subarray(0, width), ...a.subarray(3 * width, 4 * width));
  const valid: Batch = { n: 2, c: 6, z: pick(b.z, 6), y: Uint32Array.of(b.y[0], b.y[3]), w: pick(b.w, 1) };
  checkAgainstRef("valid rows", valid, 1, { loss: pick(got.loss, 1), dlogits: pick(got.dlogits, 6) });
});

Deno.test("cross_entropy: rows over the binding limit are split, grids over the dimension limit fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 16, maxBindingBytes: 16384 });
  try {
    const b = randomBatch(11, 300, 33); // logits 39.6 KB over 16 KiB bindings: several chunks, each a folded grid
    const inputs = {
      logits: tensor(gpu, b.z, [b.n, b.c]),
      labels: tensor(gpu, b.y),
      weights: tensor(gpu, b.w),
    };
    const out = { loss: empty(gpu, [b.n]), dlogits: empty(gpu, [b.n, b.c]) };
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      encodeCrossEntropy(s, inputs, out, { scale: 0.25 });
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    checkAgainstRef("cross_entropy split", b, 0.25, {
      loss: await out.loss.read(),
      dlogits: await out.dlogits.read(),
    });
  } finally {
    gpu.destroy();
  }
});

Deno.test("cross_entropy: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const logits = empty(gpu, [3, 4]);
  const labels = empty(gpu, [3], "u32");
  const weights = empty(gpu, [3]);
  const fails = async (inputs: Parameters<typeof crossEntropy>[1], pattern: RegExp) => {
    await assert.rejects(
      () => run(gpu, "t", (s) => void crossEntropy(s, inputs)),
      (e: unknown) => e instanceof ShapeError && pattern.test(e.message),
    );
  };
  await fails(
    { logits, labels: empty(gpu, [4], "u32"), weights },
    /^cross_entropy: labels .*\(3\).*\(3, 4\), got \(4\)/,
  );
  await fails(
    { logits, labels, weights: empty(gpu, [3, 1]) },
    /^cross_entropy: weights .*\(3\).*\(3, 4\), got \(3, 1\)/,
  );
  await fails(
    { logits: empty(gpu, [12]), labels, weights },
    /^cross_entropy: logits must be 2-D, got shape \(12\)/,
  );
  await fails(
    { logits: empty(gpu, [3, 0]), labels, weights },
    /^cross_entropy: logits \(3, 0\) have no classes/,
  );
  await fails(
    { logits, labels: empty(gpu, [3]) as never, weights },
    /^cross_entropy: labels must be u32, got f32/,
  );
  await assert.rejects(
    () =>
      run(
        gpu,
        "t",
        (s) =>
          encodeCrossEntropy(s, { logits, labels, weights }, { loss: weights, dlogits: empty(gpu, [4, 3]) }),
      ),
    (e: unknown) =>
      e instanceof ShapeError && /^cross_entropy: dlogits .*\(3, 4\), got \(4, 3\)/.test(e.message),
  );
  [logits, labels, weights].forEach((t) => t.dispose());
});
