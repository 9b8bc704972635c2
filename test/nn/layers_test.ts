/**
 * Every layer forward against a float64 reference, and backward against central finite differences of
 * L = Σ y ⊙ g (g a fixed random upstream gradient) computed on the float64 reference.
 */
import { Conv2d, Linear, MaxPool2d, ReLU } from "../../src/nn/layers.ts";
import type { Layer } from "../../src/nn/layers.ts";
import { run } from "../../src/gpu/step.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { assertClose, maxAbs, Rng, testGpu } from "../ref.ts";
import { dot, fdGrad, refConv, refLinear, refMaxPool, refRelu } from "./ref_nn.ts";

const TOL = { atol: 2e-5, rtol: 1e-4 };

/** Runs forward + backward of `layer` on x with upstream g; returns y, dx and the param grads. */
async function gpuPass(layer: Layer, x: Float32Array, xShape: number[], g: Float32Array) {
  const gpu = await testGpu();
  const xt = tensor(gpu, x, xShape);
  let yt!: ReturnType<typeof tensor>;
  let dxt: ReturnType<typeof tensor> | null = null;
  await run(gpu, "fwd", (s) => (yt = layer.forward(s, xt, true)));
  const y = await yt.read();
  const gt = tensor(gpu, g, yt.shape);
  await run(gpu, "bwd", (s) => (dxt = layer.backward(s, gt, true)));
  const dx = await dxt!.read();
  const grads = [];
  for (const p of layer.params) grads.push(await p.grad.read());
  await run(gpu, "forget", (s) => layer.forget(s));
  [xt, yt, gt, dxt!].forEach((t) => t.dispose());
  return { y, dx, grads };
}

/** Checks forward against `ref` and backward against finite differences of Σ ref(x, θ) ⊙ g. */
async function checkLayer(
  name: string,
  layer: Layer,
  x: Float32Array,
  xShape: number[],
  ref: (x: Float64Array, params: Float64Array[]) => Float64Array,
  rng: Rng,
) {
  const params = await Promise.all(layer.params.map(async (p) => Float64Array.from(await p.value.read())));
  const x64 = Float64Array.from(x);
  const yRef = ref(x64, params);
  const g = rng.normals(yRef.length);
  const { y, dx, grads } = await gpuPass(layer, x, xShape, g);
  assertClose(`${name} forward`, y, yRef, TOL, maxAbs(yRef));
  const loss = () => dot(ref(x64, params), g);
  const dxRef = fdGrad(loss, x64);
  assertClose(`${name} dx`, dx, dxRef, TOL, maxAbs(dxRef));
  params.forEach((p, i) => {
    const gRef = fdGrad(loss, p);
    assertClose(`${name} d${layer.params[i].name}`, grads[i], gRef, TOL, maxAbs(gRef));
  });
}

/** Values away from 0 so that ±eps never crosses ReLU's kink. */
function awayFromZero(rng: Rng, n: number): Float32Array {
  return Float32Array.from(rng.normals(n), (v) => (Math.abs(v) < 0.01 ? v + 0.05 : v));
}

Deno.test("Linear: forward and backward (dx, dW, db) at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(21);
  for (const [b, nin, nout] of [[1, 1, 1], [3, 7, 5], [5, 65, 13], [2, 130, 3]]) {
    const layer = new Linear(gpu, rng, nin, nout, "fc");
    // Non-zero bias so that the bias path is exercised by the forward check.
    layer.params[1].value.write(rng.normals(nout));
    await checkLayer(
      `linear ${b}×${nin}→${nout}`,
      layer,
      rng.normals(b * nin),
      [b, nin],
      (x, [w, bias]) => refLinear(x, w, bias, b, nin, nout),
      rng,
    );
  }
});

Deno.test("ReLU: forward and backward", async () => {
  const rng = new Rng(22);
  for (const n of [1, 17, 300]) {
    await checkLayer(`relu n=${n}`, new ReLU(), awayFromZero(rng, n * 3), [n, 3], (x) => refRelu(x), rng);
  }
});

Deno.test("Conv2d: forward and backward (dx, dW, db), NHWC, with and without padding", async () => {
  const gpu = await testGpu();
  const rng = new Rng(23);
  const cases = [
    { b: 1, h: 1, w: 1, cin: 1, cout: 1, k: 1, pad: 0 },
    { b: 2, h: 5, w: 4, cin: 3, cout: 4, k: 3, pad: 1 },
    { b: 1, h: 7, w: 7, cin: 2, cout: 3, k: 5, pad: 2 },
    { b: 2, h: 6, w: 5, cin: 1, cout: 2, k: 3, pad: 0 },
  ];
  for (const s of cases) {
    const layer = new Conv2d(gpu, rng, { inChannels: s.cin, outChannels: s.cout, k: s.k, pad: s.pad });
    layer.params[1].value.write(rng.normals(s.cout));
    await checkLayer(
      `conv ${JSON.stringify(s)}`,
      layer,
      rng.normals(s.b * s.h * s.w * s.cin),
      [s.b, s.h, s.w, s.cin],
      (x, [w, bias]) => refConv(x, w, bias, s),
      rng,
    );
  }
});

Deno.test("MaxPool2d: forward and backward, even and odd sizes", async () => {
  const rng = new Rng(24);
  for (const [b, h, w, c] of [[1, 2, 2, 1], [2, 4, 6, 3], [1, 5, 7, 2]]) {
    // Distinct values (a shuffled grid), so the max of each window is unique and FD is exact.
    const n = b * h * w * c;
    const x = Float32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37)));
    await checkLayer(
      `maxpool ${b}×${h}×${w}×${c}`,
      new MaxPool2d(),
      x,
      [b, h, w, c],
      (x) => refMaxPool(x, b, h, w, c),
      rng,
    );
  }
});
