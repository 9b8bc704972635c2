import assert from "node:assert/strict";
import {
  encodeRelu,
  encodeReluBackward,
  relu,
  reluBackward,
  reluTolerance,
} from "../../../src/gpu/ops/relu.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, pickSizes, randn, Rng, testGpu } from "../../ref.ts";
import { gpuWithLimits } from "./limits.ts";

/** Float64 y = max(x, 0). */
function refRelu(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/** Float64 dx = dy · [x > 0]. */
function refReluBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => x[i] > 0 ? g : 0);
}

/** Normals with every fifth entry exactly 0, where the subgradient convention matters. */
function withZeros(rng: Rng, size: number): Float32Array {
  const x = randn(rng, size);
  for (let i = 0; i < size; i += 5) x[i] = 0;
  return x;
}

/** Forward and backward on `shape`, compared with the references. */
async function check(gpu: Gpu, shape: number[], seed: number) {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const xv = withZeros(rng, size);
  const dyv = randn(rng, size);
  const [x, dy] = [tensor(gpu, xv, shape), tensor(gpu, dyv, shape)];
  let y!: Tensor;
  let dx!: Tensor;
  await run(gpu, "relu test", (s) => {
    y = relu(s, x);
    dx = reluBackward(s, x, dy);
  });
  assert.deepEqual(y.shape, shape);
  const what = `relu shape=(${shape}) seed=${seed}`;
  assertClose(`${what} forward`, await y.read(), refRelu(xv), reluTolerance());
  assertClose(`${what} backward`, await dx.read(), refReluBackward(xv, dyv), reluTolerance());
  [x, dy, y, dx].forEach((t) => t.dispose());
}

Deno.test("relu forward and backward match float64 at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: number[][] = [[1], [0], [0, 7], [255], [256], [257], [64, 65], [3, 5, 7]];
  for (let i = 0; i < 6; i++) cases.push(pickSizes(rng, 2));
  let seed = 100;
  for (const shape of cases) await check(gpu, shape, seed++);
});

Deno.test("relu backward: the gradient at x = 0 is 0, and the mask is x's, not dy's", async () => {
  const gpu = await testGpu();
  const x = tensor(gpu, new Float32Array([0, -0, 1e-30, -1e-30, 2, -2]));
  const dy = tensor(gpu, new Float32Array([5, 5, 5, 5, -3, -3]));
  let dx!: Tensor;
  await run(gpu, "t", (s) => (dx = reluBackward(s, x, dy)));
  // 1e-30 is a subnormal that a GPU may flush to 0, so its entry is not checked.
  const got = [...await dx.read()];
  assert.deepEqual([got[0], got[1], got[3], got[4], got[5]], [0, 0, 0, -3, 0]);
  [x, dy, dx].forEach((t) => t.dispose());
});

Deno.test("relu: tensors over the binding limit are split, grids over the dimension limit fold", async () => {
  const gpu = await gpuWithLimits({ maxWorkgroups: 3, maxBindingBytes: 8192 });
  try {
    const rng = new Rng(11);
    const size = 5000; // 20 KB: chunks of 2048 elements, 8 workgroups each, folded (3, 3)
    const xv = withZeros(rng, size);
    const dyv = randn(rng, size);
    const [x, dy] = [tensor(gpu, xv), tensor(gpu, dyv)];
    const [y, dx] = [empty(gpu, [size]), empty(gpu, [size])];
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      encodeRelu(s, x, y);
      encodeReluBackward(s, x, dy, dx);
      dispatches = s.dispatches;
    });
    assert.equal(dispatches, 6, "expected 3 chunks per direction");
    assertClose("relu split forward", await y.read(), refRelu(xv), reluTolerance());
    assertClose("relu split backward", await dx.read(), refReluBackward(xv, dyv), reluTolerance());
  } finally {
    gpu.destroy();
  }
});

Deno.test("relu: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [3, 4]);
  const y = empty(gpu, [4, 3]);
  await assert.rejects(
    () => run(gpu, "t", (s) => encodeRelu(s, x, y)),
    (e: unknown) => e instanceof ShapeError && /^relu: y .*\(3, 4\), got \(4, 3\)/.test(e.message),
  );
  await assert.rejects(
    () => run(gpu, "t", (s) => void reluBackward(s, x, y)),
    (e: unknown) => e instanceof ShapeError && /^relu backward: dy .*\(3, 4\), got \(4, 3\)/.test(e.message),
  );
  [x, y].forEach((t) => t.dispose());
});
