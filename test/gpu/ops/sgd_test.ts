import assert from "node:assert/strict";
import { encodeSgd, SGD_TOLERANCE } from "../../../src/gpu/ops/sgd.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, Rng, testGpu } from "../../ref.ts";

/** Float64 reference of torch.optim.SGD's update. */
function refSgd(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  lr: number,
  mu: number,
  wd: number,
  nesterov: boolean,
) {
  const w2 = new Float64Array(w.length);
  const v2 = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + wd * w[i];
    v2[i] = mu * v[i] + gi;
    w2[i] = w[i] - lr * (nesterov ? gi + mu * v2[i] : v2[i]);
  }
  return { w: w2, v: v2 };
}

Deno.test("sgd: momentum, Nesterov and weight decay match the reference at awkward sizes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(5);
  for (const n of [1, 7, 255, 256, 257, 1031]) {
    for (const [mu, wd, nesterov] of [[0, 0, false], [0.9, 5e-4, false], [0.9, 5e-4, true]] as const) {
      const wv = rng.normals(n);
      const gv = rng.normals(n);
      const vv = rng.normals(n);
      const [w, g, v] = [tensor(gpu, wv), tensor(gpu, gv), tensor(gpu, vv)];
      await run(
        gpu,
        "sgd",
        (s) => encodeSgd(s, w, g, v, { lr: 0.05, momentum: mu, weightDecay: wd, nesterov }),
      );
      const ref = refSgd(wv, gv, vv, 0.05, mu, wd, nesterov);
      const what = `sgd n=${n} mu=${mu} wd=${wd} nesterov=${nesterov}`;
      assertClose(`${what} w`, await w.read(), ref.w, SGD_TOLERANCE);
      assertClose(`${what} v`, await v.read(), ref.v, SGD_TOLERANCE);
      [w, g, v].forEach((t) => t.dispose());
    }
  }
});

Deno.test("sgd: one hand-computed step", async () => {
  // w = 1, g = 0.5, v = 0.2, lr 0.1, μ 0.9, wd 0.01:
  // g' = 0.5 + 0.01 = 0.51; v' = 0.18 + 0.51 = 0.69; Nesterov update = 0.51 + 0.621 = 1.131 → w = 0.8869.
  const gpu = await testGpu();
  const [w, g, v] = [
    tensor(gpu, new Float32Array([1])),
    tensor(gpu, new Float32Array([0.5])),
    tensor(gpu, new Float32Array([0.2])),
  ];
  await run(
    gpu,
    "sgd",
    (s) => encodeSgd(s, w, g, v, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }),
  );
  assert.ok(Math.abs((await w.read())[0] - 0.8869) < 1e-6);
  assert.ok(Math.abs((await v.read())[0] - 0.69) < 1e-6);
  [w, g, v].forEach((t) => t.dispose());
});

Deno.test("sgd: shape mismatch is a ShapeError", async () => {
  const gpu = await testGpu();
  const [w, g, v] = [empty(gpu, [3, 4]), empty(gpu, [4, 3]), empty(gpu, [3, 4])];
  await assert.rejects(
    () =>
      run(gpu, "sgd", (s) => encodeSgd(s, w, g, v, { lr: 1, momentum: 0, weightDecay: 0, nesterov: false })),
    (e: unknown) => e instanceof ShapeError && /sgd: grad/.test(e.message),
  );
  [w, g, v].forEach((t) => t.dispose());
});
