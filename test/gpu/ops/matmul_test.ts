import assert from "node:assert/strict";
import { acquireGpu } from "../../../src/gpu/device.ts";
import {
  defaultMatmulVariant,
  encodeMatmul,
  matmul,
  matmulTolerance,
  type MatmulVariant,
} from "../../../src/gpu/ops/matmul.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, refMatmul, Rng, testGpu } from "../../ref.ts";

const MODES = [[false, false], [true, false], [false, true], [true, true]] as const;
/** Both kernels run on every adapter in these tests, whichever one the adapter gets by default. */
const VARIANTS: MatmulVariant[] = ["tiled", "blocked"];

async function check(
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  seed: number,
  variant: MatmulVariant,
) {
  const gpu = await testGpu();
  const rng = new Rng(seed);
  const av = randn(rng, m, k);
  const bv = randn(rng, k, n);
  const a = tensor(gpu, av, transA ? [k, m] : [m, k]);
  const b = tensor(gpu, bv, transB ? [n, k] : [k, n]);
  let c!: ReturnType<typeof matmul>;
  await run(gpu, "matmul test", (step) => {
    c = matmul(step, a, b, { transA, transB, variant });
  });
  const got = await c.read();
  const want = refMatmul(av, bv, m, k, n, transA, transB);
  assertClose(
    `matmul ${variant} m=${m} k=${k} n=${n} tA=${transA} tB=${transB} seed=${seed}`,
    got,
    want,
    matmulTolerance(k),
  );
  [a, b, c].forEach((t) => t.dispose());
}

Deno.test("matmul matches float64 at awkward shapes, every transpose mode", async () => {
  const rng = new Rng(1);
  const cases: [number, number, number][] = [[1, 1, 1], [64, 64, 64], [65, 17, 63], [1, 300, 1], [
    129,
    3,
    257,
  ]];
  for (let i = 0; i < 6; i++) {
    const [m, k, n] = pickSizes(rng, 3);
    cases.push([m, k, n]);
  }
  for (const variant of VARIANTS) {
    let seed = 100;
    for (const [m, k, n] of cases) {
      for (const [tA, tB] of MODES) await check(m, k, n, tA, tB, seed++, variant);
    }
  }
});

Deno.test("matmul: every tile shape (narrow n ≤ 16, ≤ 32, wide) across workgroup boundaries", async () => {
  let seed = 500;
  for (const n of [3, 16, 17, 32, 33, 64, 65]) {
    for (const [tA, tB] of MODES) await check(1100, 19, n, tA, tB, seed++, "tiled");
  }
  // The blocked kernel's tile: 16 rows × 64 columns (8 lanes × 8, lane-strided).
  for (const [m, n] of [[15, 63], [16, 64], [17, 65], [33, 129], [47, 8], [16, 1]]) {
    for (const [tA, tB] of MODES) await check(m, 23, n, tA, tB, seed++, "blocked");
  }
});

Deno.test("matmul: the adapter's default kernel, and the blocked kernel's grid-stride loop", async () => {
  const gpu = await testGpu();
  // GPUs: always tiled. CPU adapters: blocked when wide, or when the tiled grid is one workgroup.
  const expect = (m: number, n: number, onCpu: MatmulVariant) => {
    assert.equal(defaultMatmulVariant(gpu, m, n), gpu.onCpu ? onCpu : "tiled", `${m} × ${n}`);
    assert.equal(defaultMatmulVariant({ onCpu: false }, m, n), "tiled");
    assert.equal(defaultMatmulVariant({ onCpu: true }, m, n), onCpu);
  };
  expect(128, 256, "blocked");
  expect(100352, 8, "tiled");
  expect(25088, 16, "tiled");
  expect(25, 8, "blocked");
  expect(128, 10, "blocked");
  // More row tiles (16 rows each) than one grid dimension holds: the last ones come from the loop.
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const [m, k, n] = [16 * max + 40, 3, 2];
  const rng = new Rng(21);
  const av = randn(rng, m, k);
  const bv = randn(rng, k, n);
  const a = tensor(gpu, av, [m, k]);
  const b = tensor(gpu, bv, [k, n]);
  let c!: ReturnType<typeof matmul>;
  await run(gpu, "t", (s) => (c = matmul(s, a, b, { variant: "blocked" })));
  assertClose(
    "matmul blocked, grid-stride rows",
    await c.read(),
    refMatmul(av, bv, m, k, n),
    matmulTolerance(k),
  );
  [a, b, c].forEach((t) => t.dispose());
});

Deno.test("matmul: a wrong transpose is caught by the tolerance", async () => {
  // Guard against a tolerance so loose that a transposed operand would pass.
  const gpu = await testGpu();
  for (const variant of VARIANTS) await wrongTranspose(gpu, variant);
});

async function wrongTranspose(gpu: Awaited<ReturnType<typeof testGpu>>, variant: MatmulVariant) {
  const rng = new Rng(7);
  const av = randn(rng, 8, 8);
  const bv = randn(rng, 8, 8);
  const a = tensor(gpu, av, [8, 8]);
  const b = tensor(gpu, bv, [8, 8]);
  let c!: ReturnType<typeof matmul>;
  await run(gpu, "t", (s) => (c = matmul(s, a, b, { transA: true, variant })));
  const got = await c.read();
  assert.throws(() => assertClose(`wrong (${variant})`, got, refMatmul(av, bv, 8, 8, 8), matmulTolerance(8)));
  [a, b, c].forEach((t) => t.dispose());
}

Deno.test("matmul: alpha and beta accumulate into C; beta = 0 ignores NaN in C", async () => {
  for (const variant of VARIANTS) await alphaBeta(variant);
});

async function alphaBeta(variant: MatmulVariant) {
  const gpu = await testGpu();
  const rng = new Rng(3);
  const [m, k, n] = [37, 19, 41];
  const av = randn(rng, m, k);
  const bv = randn(rng, k, n);
  const cv = randn(rng, m, n);
  const a = tensor(gpu, av, [m, k]);
  const b = tensor(gpu, bv, [k, n]);
  const c = tensor(gpu, cv, [m, n]);
  await run(gpu, "t", (s) => encodeMatmul(s, a, b, c, { alpha: 0.5, beta: -2, variant }));
  const want = refMatmul(av, bv, m, k, n).map((x, i) => 0.5 * x - 2 * cv[i]);
  assertClose(`matmul ${variant} alpha/beta`, await c.read(), want, matmulTolerance(k), maxAbs(want));
  c.write(new Float32Array(m * n).fill(NaN));
  await run(gpu, "t", (s) => encodeMatmul(s, a, b, c, { variant }));
  assertClose(
    `matmul ${variant} beta=0 over NaN`,
    await c.read(),
    refMatmul(av, bv, m, k, n),
    matmulTolerance(k),
  );
  [a, b, c].forEach((t) => t.dispose());
}

Deno.test("matmul: empty shapes", async () => {
  for (const variant of VARIANTS) await emptyShapes(variant);
});

async function emptyShapes(variant: MatmulVariant) {
  const gpu = await testGpu();
  const a = tensor(gpu, new Float32Array(0), [0, 5]);
  const b = tensor(gpu, new Float32Array(15), [5, 3]);
  let c!: ReturnType<typeof matmul>;
  await run(gpu, "t", (s) => (c = matmul(s, a, b, { variant })));
  assert.deepEqual(c.shape, [0, 3]);
  assert.equal((await c.read()).length, 0);
  // k = 0: the product is all zeros.
  const a0 = tensor(gpu, new Float32Array(0), [4, 0]);
  const b0 = tensor(gpu, new Float32Array(0), [0, 6]);
  let z!: ReturnType<typeof matmul>;
  await run(gpu, "t", (s) => (z = matmul(s, a0, b0, { variant })));
  assert.deepEqual([...await z.read()], new Array(24).fill(0));
  [a, b, c, a0, b0, z].forEach((t) => t.dispose());
}

Deno.test("matmul: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const a = empty(gpu, [3, 4]);
  const b = empty(gpu, [5, 6]);
  await assert.rejects(
    () => run(gpu, "t", (s) => void matmul(s, a, b)),
    (e: unknown) =>
      e instanceof ShapeError && /matmul: inner dimensions differ/.test(e.message) &&
      /\(3, 4\)/.test(e.message),
  );
  a.dispose();
  b.dispose();
});

Deno.test("matmul: rows over the binding limit are split into chunks", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    const rng = new Rng(11);
    const [m, k, n] = [400, 37, 23]; // A is 59 KB, C 37 KB: several chunks each
    const av = randn(rng, m, k);
    const bv = randn(rng, k, n);
    const a = tensor(gpu, av, [m, k]);
    const b = tensor(gpu, bv, [k, n]);
    for (const variant of VARIANTS) {
      let dispatches = 0;
      let c!: ReturnType<typeof matmul>;
      await run(gpu, "t", (s) => {
        c = matmul(s, a, b, { variant });
        dispatches = s.dispatches;
      });
      assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
      assertClose(`matmul ${variant} split`, await c.read(), refMatmul(av, bv, m, k, n), matmulTolerance(k));
      c.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
