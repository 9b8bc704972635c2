import assert from "node:assert/strict";
import { acquireGpu } from "../../../src/gpu/device.ts";
import {
  encodePerSampleGrad,
  perSampleGrad,
  perSampleGradTolerance,
} from "../../../src/gpu/ops/per_sample_grad.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";

/** Float64 gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (or eᵢ ⊗ hᵢ), written from the definition: W's gradient is e hᵀ, (C, D). */
function refGrad(e: Float32Array, h: Float32Array, n: number, c: number, d: number, bias: boolean) {
  const width = bias ? c * (d + 1) : c * d;
  const g = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      for (let t = 0; t < d; t++) g[i * width + k * d + t] = e[i * c + k] * h[i * d + t];
      if (bias) g[i * width + c * d + k] = e[i * c + k];
    }
  }
  return g;
}

async function check(n: number, c: number, d: number, bias: boolean, seed: number) {
  const gpu = await testGpu();
  const rng = new Rng(seed);
  const ev = randn(rng, n, c);
  const hv = randn(rng, n, d);
  const e = tensor(gpu, ev, [n, c]);
  const h = tensor(gpu, hv, [n, d]);
  let g!: Tensor;
  await run(gpu, "per_sample_grad test", (step) => (g = perSampleGrad(step, e, h, { bias })));
  const want = refGrad(ev, hv, n, c, d, bias);
  assert.deepEqual(g.shape, [n, bias ? c * (d + 1) : c * d]);
  const what = `per_sample_grad n=${n} C=${c} D=${d} bias=${bias} seed=${seed}`;
  assertClose(what, await g.read(), want, perSampleGradTolerance(), maxAbs(want));
  [e, h, g].forEach((t) => t.dispose());
}

Deno.test("per_sample_grad matches float64 at awkward shapes, with and without the bias part", async () => {
  const rng = new Rng(1);
  const cases: [number, number, number][] = [[1, 1, 1], [1, 10, 256], [65, 3, 63], [7, 13, 257], [64, 1, 64]];
  for (let i = 0; i < 5; i++) {
    const [n, d] = pickSizes(rng, 2);
    cases.push([n, [1, 2, 10, 13][rng.int(4)], d]);
  }
  let seed = 100;
  for (const [n, c, d] of cases) {
    for (const bias of [true, false]) await check(n, c, d, bias, seed++);
  }
});

Deno.test("per_sample_grad: the layout is W's row-major gradient, then the bias part", async () => {
  // e = (1, 2), h = (10, 20, 30): W's gradient rows are e_c·h, the bias part is e itself.
  const gpu = await testGpu();
  const e = tensor(gpu, new Float32Array([1, 2]), [1, 2]);
  const h = tensor(gpu, new Float32Array([10, 20, 30]), [1, 3]);
  let g!: Tensor;
  let w!: Tensor;
  await run(gpu, "t", (s) => {
    g = perSampleGrad(s, e, h);
    w = perSampleGrad(s, e, h, { bias: false });
  });
  assert.deepEqual([...await g.read()], [10, 20, 30, 20, 40, 60, 1, 2]);
  assert.deepEqual([...await w.read()], [10, 20, 30, 20, 40, 60]);
  [e, h, g, w].forEach((t) => t.dispose());
});

Deno.test("per_sample_grad: a wrong layout is caught by the tolerance", async () => {
  // Guard against a tolerance so loose that the per-class interleaved layout [e_c·h, e_c] would pass.
  const gpu = await testGpu();
  const rng = new Rng(5);
  const [n, c, d] = [5, 3, 4];
  const ev = randn(rng, n, c);
  const hv = randn(rng, n, d);
  const e = tensor(gpu, ev, [n, c]);
  const h = tensor(gpu, hv, [n, d]);
  let g!: Tensor;
  await run(gpu, "t", (s) => (g = perSampleGrad(s, e, h)));
  const got = await g.read();
  const interleaved = new Float64Array(n * c * (d + 1));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      for (let t = 0; t < d; t++) interleaved[(i * c + k) * (d + 1) + t] = ev[i * c + k] * hv[i * d + t];
      interleaved[(i * c + k) * (d + 1) + d] = ev[i * c + k];
    }
  }
  assert.throws(() => assertClose("wrong", got, interleaved, perSampleGradTolerance(), maxAbs(interleaved)));
  [e, h, g].forEach((t) => t.dispose());
});

Deno.test("per_sample_grad: empty shapes", async () => {
  const gpu = await testGpu();
  const e = tensor(gpu, new Float32Array(0), [0, 4]);
  const h = tensor(gpu, new Float32Array(0), [0, 6]);
  // D = 0: no weight part; the rows are the bias part e alone.
  const e1 = tensor(gpu, new Float32Array([1, -2, 3, 4, 5, -6]), [2, 3]);
  const h0 = tensor(gpu, new Float32Array(0), [2, 0]);
  let g!: Tensor;
  let b!: Tensor;
  let w!: Tensor;
  await run(gpu, "t", (s) => {
    g = perSampleGrad(s, e, h);
    b = perSampleGrad(s, e1, h0);
    w = perSampleGrad(s, e1, h0, { bias: false });
  });
  assert.deepEqual(g.shape, [0, 28]);
  assert.equal((await g.read()).length, 0);
  assert.deepEqual([...await b.read()], [1, -2, 3, 4, 5, -6]);
  assert.deepEqual(w.shape, [2, 0]);
  [e, h, e1, h0, g, b, w].forEach((t) => t.dispose());
});

Deno.test("per_sample_grad: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const e = empty(gpu, [3, 4]);
  const h = empty(gpu, [5, 6]);
  const h3 = empty(gpu, [3, 6]);
  const wrong = empty(gpu, [3, 24]);
  await assert.rejects(
    () => run(gpu, "t", (s) => void perSampleGrad(s, e, h)),
    (err: unknown) =>
      err instanceof ShapeError && /per_sample_grad/.test(err.message) && /\(3, 4\)/.test(err.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => encodePerSampleGrad(s, e, h3, wrong)),
    (err: unknown) =>
      err instanceof ShapeError && /per_sample_grad: g must have shape \(3, 28\)/.test(err.message),
  );
  [e, h, h3, wrong].forEach((t) => t.dispose());
});

Deno.test("per_sample_grad: rows over the binding limit are split into chunks", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    const rng = new Rng(11);
    const [n, c, d] = [150, 3, 17]; // g is 32 KB: several chunks
    const ev = randn(rng, n, c);
    const hv = randn(rng, n, d);
    const e = tensor(gpu, ev, [n, c]);
    const h = tensor(gpu, hv, [n, d]);
    let dispatches = 0;
    let g!: Tensor;
    await run(gpu, "t", (s) => {
      g = perSampleGrad(s, e, h);
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    const want = refGrad(ev, hv, n, c, d, true);
    assertClose("per_sample_grad split", await g.read(), want, perSampleGradTolerance(), maxAbs(want));
  } finally {
    gpu.destroy();
  }
});
