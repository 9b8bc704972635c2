import assert from "node:assert/strict";
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";
import { gpuWithLimits } from "./limits.ts";
import {
  encodeMaxpool,
  encodeMaxpoolBackward,
  maxpool,
  MAXPOOL_TOLERANCE,
  maxpoolBackward,
  type MaxpoolGeometry,
  maxpoolGeometry,
} from "../../../src/gpu/ops/maxpool.ts";
import { run, type Step } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, randn, Rng, testGpu } from "../../ref.ts";

/** [B, H, W, C]: odd and even sides (the smallest legal, 2), C 1/3/6. */
type Case = [number, number, number, number];
const CASES: Case[] = [
  [1, 2, 2, 1],
  [1, 3, 3, 1],
  [2, 2, 5, 3],
  [3, 5, 2, 6],
  [2, 8, 8, 3],
  [3, 9, 7, 6],
  [1, 13, 12, 3],
];

/** Seeded extra cases: B 1..3, H and W 2..13, C from {1, 3, 6}. */
function randomCases(seed: number, count: number): Case[] {
  const rng = new Rng(seed);
  const draw = (): Case => [1 + rng.int(3), 2 + rng.int(12), 2 + rng.int(12), [1, 3, 6][rng.int(3)]];
  return Array.from({ length: count }, draw);
}

/** Float64 forward as plain loops: maxima, and window positions 2·dy + dx (the first on ties). */
function refMaxpool(x: ArrayLike<number>, g: MaxpoolGeometry): { y: Float64Array; arg: Uint32Array } {
  const n = g.b * g.ho * g.wo * g.c;
  const [y, arg] = [new Float64Array(n), new Uint32Array(n)];
  for (let b = 0; b < g.b; b++) {
    for (let ho = 0; ho < g.ho; ho++) {
      for (let wo = 0; wo < g.wo; wo++) {
        for (let c = 0; c < g.c; c++) {
          const o = ((b * g.ho + ho) * g.wo + wo) * g.c + c;
          y[o] = -Infinity;
          for (let q = 0; q < 4; q++) {
            const v = x[((b * g.h + 2 * ho + (q >> 1)) * g.w + 2 * wo + (q & 1)) * g.c + c];
            if (v > y[o]) [y[o], arg[o]] = [v, q];
          }
        }
      }
    }
  }
  return { y, arg };
}

/** Float64 backward in scatter form (the kernel gathers): dy goes to its window's argmax position. */
function refBackward(dy: ArrayLike<number>, arg: ArrayLike<number>, g: MaxpoolGeometry): Float64Array {
  const dx = new Float64Array(g.b * g.h * g.w * g.c);
  for (let o = 0; o < dy.length; o++) {
    const c = o % g.c;
    const wo = Math.floor(o / g.c) % g.wo;
    const ho = Math.floor(o / (g.c * g.wo)) % g.ho;
    const b = Math.floor(o / (g.c * g.wo * g.ho));
    const [h, w] = [2 * ho + (arg[o] >> 1), 2 * wo + (arg[o] & 1)];
    dx[((b * g.h + h) * g.w + w) * g.c + c] += dy[o];
  }
  return dx;
}

/** Forward on the GPU; returns y and argmax read back. */
async function forward(gpu: Gpu, xv: Float32Array, shape: readonly number[]) {
  const x = tensor(gpu, xv, shape);
  let out!: { y: Tensor; argmax: Tensor<"u32"> };
  await run(gpu, "maxpool test", (s) => (out = maxpool(s, x)));
  const [y, arg] = [await out.y.read(), await out.argmax.read()];
  [x, out.y, out.argmax].forEach((t) => t.dispose());
  return { y, arg };
}

/** Backward on the GPU from host dy and argmax; returns dx read back. */
async function backward(gpu: Gpu, dyv: Float32Array, argv: Uint32Array, xShape: readonly number[]) {
  const g = maxpoolGeometry("test", xShape);
  const dy = tensor(gpu, dyv, [g.b, g.ho, g.wo, g.c]);
  const arg = tensor(gpu, argv, [g.b, g.ho, g.wo, g.c]);
  let dx!: Tensor;
  await run(gpu, "maxpool test", (s) => (dx = maxpoolBackward(s, dy, arg, { xShape })));
  const out = await dx.read();
  [dy, arg, dx].forEach((t) => t.dispose());
  return out;
}

Deno.test("maxpool forward matches float64 at awkward shapes, argmax included", async () => {
  const gpu = await testGpu();
  let seed = 100;
  for (const c of [...CASES, ...randomCases(1, 6)]) {
    const g = maxpoolGeometry("test", c);
    const xv = randn(new Rng(seed), g.b * g.h * g.w * g.c);
    const got = await forward(gpu, xv, c);
    const want = refMaxpool(xv, g);
    assertClose(`maxpool y case ${c} seed=${seed}`, got.y, want.y, MAXPOOL_TOLERANCE);
    assertClose(`maxpool argmax case ${c} seed=${seed++}`, got.arg, want.arg, MAXPOOL_TOLERANCE);
  }
});

Deno.test("maxpool: on ties the first maximum in (dy, dx) order wins", async () => {
  const gpu = await testGpu();
  // One channel, windows [[a, b], [c, d]] in NHWC: all equal → 0; [1, 3; 3, 2] → 1; [1, 2; 3, 3] → 2.
  const x = new Float32Array([5, 5, 1, 3, 1, 2, 5, 5, 3, 2, 3, 3]);
  const got = await forward(gpu, x, [1, 2, 6, 1]);
  assert.deepEqual([...got.y], [5, 3, 3]);
  assert.deepEqual([...got.arg], [0, 1, 2]);
  // Values from {0, 1, 2}: most windows tie; compare every position with the reference.
  const rng = new Rng(5);
  const shape: Case = [2, 7, 9, 3];
  const tied = new Float32Array(2 * 7 * 9 * 3).map(() => rng.int(3));
  const want = refMaxpool(tied, maxpoolGeometry("test", shape));
  assertClose("maxpool ties argmax", (await forward(gpu, tied, shape)).arg, want.arg, MAXPOOL_TOLERANCE);
});

Deno.test("maxpool backward routes dy to each window's argmax; dropped rows and columns get 0", async () => {
  const gpu = await testGpu();
  let seed = 200;
  for (const c of [...CASES, ...randomCases(2, 6)]) {
    const g = maxpoolGeometry("test", c);
    const rng = new Rng(seed);
    const dyv = randn(rng, g.b * g.ho * g.wo * g.c);
    // Any routing, not only one a forward pass produced.
    const argv = new Uint32Array(dyv.length).map(() => rng.int(4));
    const got = await backward(gpu, dyv, argv, c);
    assertClose(
      `maxpool_backward case ${c} seed=${seed++}`,
      got,
      refBackward(dyv, argv, g),
      MAXPOOL_TOLERANCE,
    );
    for (let i = 0; i < got.length; i++) {
      const [w, h] = [Math.floor(i / g.c) % g.w, Math.floor(i / (g.c * g.w)) % g.h];
      if (h === 2 * g.ho || w === 2 * g.wo) assert.equal(got[i], 0, `dropped position ${i} case ${c}`);
    }
  }
});

Deno.test("maxpool backward agrees with finite differences of the forward", async () => {
  // L(x) = Σ dy · maxpool(x) is piecewise linear; with distinct inputs 0.1 apart, a step of ε = 0.01
  // stays on one piece, so central differences are exact up to float32 rounding. Every ±ε copy of x
  // is one image of a single batched forward pass.
  const gpu = await testGpu();
  const rng = new Rng(9);
  const shape: Case = [1, 5, 4, 2];
  const n = 5 * 4 * 2;
  const xv = rng.shuffle(new Float32Array(n).map((_, i) => 0.1 * i - 2));
  const eps = 0.01;
  const batch = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    batch.set(xv, 2 * i * n);
    batch.set(xv, (2 * i + 1) * n);
    batch[2 * i * n + i] += eps;
    batch[(2 * i + 1) * n + i] -= eps;
  }
  const { y, arg } = await forward(gpu, xv, shape);
  const perturbed = (await forward(gpu, batch, [2 * n, 5, 4, 2])).y;
  const dyv = randn(rng, y.length);
  const dx = await backward(gpu, dyv, arg, shape);
  const loss = (img: number) => dyv.reduce((s, d, o) => s + d * perturbed[img * y.length + o], 0);
  const numeric = Array.from({ length: n }, (_, i) => (loss(2 * i) - loss(2 * i + 1)) / (2 * eps));
  assertClose("maxpool finite differences", dx, numeric, { atol: 1e-3, rtol: 1e-3 });
});

Deno.test("maxpool: an empty batch gives empty outputs", async () => {
  const gpu = await testGpu();
  const got = await forward(gpu, new Float32Array(0), [0, 5, 4, 3]);
  assert.equal(got.y.length + got.arg.length, 0);
  const dx = await backward(gpu, new Float32Array(0), new Uint32Array(0), [0, 5, 4, 3]);
  assert.equal(dx.length, 0);
});

Deno.test("maxpool: bad shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const rejects = (what: RegExp, record: (s: Step) => void) =>
    assert.rejects(
      () => run(gpu, "t", record),
      (e: unknown) => e instanceof ShapeError && what.test(e.message),
    );
  const x = empty(gpu, [2, 5, 4, 3]);
  const flat = empty(gpu, [2, 1, 4, 3]);
  const y = empty(gpu, [2, 2, 2, 3]);
  const yf = empty(gpu, [2, 2, 2, 3]);
  const arg = empty(gpu, [2, 2, 2, 3], "u32");
  await rejects(
    /maxpool: the input must be 4-D.*\(10, 4, 3\)/,
    (s) => void maxpool(s, x.reshape([10, 4, 3])),
  );
  await rejects(/maxpool: the input \(2, 1, 4, 3\) needs H ≥ 2/, (s) => void maxpool(s, flat));
  await rejects(
    /maxpool: y must have shape \(2, 2, 2, 3\), got \(2, 5, 4, 3\)/,
    (s) => encodeMaxpool(s, x, x, arg),
  );
  await rejects(
    /maxpool: argmax must be u32, got f32/,
    (s) => encodeMaxpool(s, x, y, yf as unknown as Tensor<"u32">),
  );
  await rejects(
    /maxpool_backward: dy must have shape \(2, 2, 2, 3\), got \(2, 5, 4, 3\)/,
    (s) => encodeMaxpoolBackward(s, x, arg, x),
  );
  await rejects(
    /maxpool_backward: the input \(2, 1, 4, 3\) needs H ≥ 2/,
    (s) => void maxpoolBackward(s, y, arg, { xShape: flat.shape }),
  );
  [x, flat, y, yf, arg].forEach((t) => t.dispose());
});

Deno.test("maxpool: batches over the binding limit are split into whole images", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    // 2304 bytes of x per image and 512 pooled, multiples of the offset alignment: 7 images per chunk.
    const shape: Case = [17, 9, 8, 8];
    const g = maxpoolGeometry("test", shape);
    const rng = new Rng(11);
    const xv = randn(rng, g.b * g.h * g.w * g.c);
    const dyv = randn(rng, g.b * g.ho * g.wo * g.c);
    const x = tensor(gpu, xv, shape);
    const dy = tensor(gpu, dyv, [g.b, g.ho, g.wo, g.c]);
    let out!: { y: Tensor; argmax: Tensor<"u32"> };
    let dx!: Tensor;
    let dispatches = 0;
    await run(gpu, "t", (s) => {
      out = maxpool(s, x);
      dx = maxpoolBackward(s, dy, out.argmax, { xShape: shape });
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 2, `expected a split, got ${dispatches} dispatches`);
    const want = refMaxpool(xv, g);
    assertClose("maxpool split y", await out.y.read(), want.y, MAXPOOL_TOLERANCE);
    assertClose("maxpool split argmax", await out.argmax.read(), want.arg, MAXPOOL_TOLERANCE);
    assertClose("maxpool_backward split", await dx.read(), refBackward(dyv, want.arg, g), MAXPOOL_TOLERANCE);
  } finally {
    gpu.destroy();
  }
});

Deno.test("maxpool: past the workgroup limit per dimension the dispatch folds into 2-D", async () => {
  // With at most 5 workgroups per dimension (25 in all): y of 1300 and 1360 elements and dx of 5200,
  // 5440 and 6000 each take 2 to 5 rows of a folded grid, the last row often partial.
  const gpu = await gpuWithLimits({ maxWorkgroups: 5 });
  try {
    let seed = 500;
    for (const c of [[1, 2, 2, 1300], [1, 4, 4, 340], [1, 5, 3, 400]] as Case[]) {
      const g = maxpoolGeometry("test", c);
      const rng = new Rng(seed);
      const xv = randn(rng, g.b * g.h * g.w * g.c);
      const got = await forward(gpu, xv, c);
      const want = refMaxpool(xv, g);
      assertClose(`maxpool folded y case ${c} seed=${seed}`, got.y, want.y, MAXPOOL_TOLERANCE);
      assertClose(`maxpool folded argmax case ${c} seed=${seed}`, got.arg, want.arg, MAXPOOL_TOLERANCE);
      const dyv = randn(rng, got.y.length);
      const dx = await backward(gpu, dyv, got.arg, c);
      assertClose(`maxpool_backward folded case ${c} seed=${seed++}`, dx, refBackward(dyv, want.arg, g), {
        atol: 0,
        rtol: 0,
      });
    }
  } finally {
    gpu.destroy();
  }
});
