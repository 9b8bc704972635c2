import assert from "node:assert/strict";
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";
import {
  encodePairwise,
  type Metric,
  pairwise,
  type PairwiseOptions,
  pairwiseTolerance,
} from "../../../src/gpu/ops/pairwise.ts";
import { run, type Step } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { InvalidInputError, ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";

const METRICS: Metric[] = ["dot", "cosine", "sqeuclid", "exp"];

/** Float64 metric(x1ᵢ, x2ⱼ) from the definitions, as plain loops. */
function refPairwise(
  x1: Float32Array,
  x2: Float32Array,
  n1: number,
  n2: number,
  d: number,
  metric: Metric,
  scale = 1,
): Float64Array {
  const out = new Float64Array(n1 * n2);
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      let dot = 0, p = 0, q = 0, dist = 0;
      for (let t = 0; t < d; t++) {
        const [a, b] = [x1[i * d + t], x2[j * d + t]];
        dot += a * b;
        p += a * a;
        q += b * b;
        dist += (a - b) ** 2;
      }
      out[i * n2 + j] = metric === "dot"
        ? dot
        : metric === "cosine"
        ? (p > 0 && q > 0 ? dot / Math.sqrt(p * q) : 0)
        : metric === "sqeuclid"
        ? dist
        : Math.exp(-Math.sqrt(dist) / scale);
    }
  }
  return out;
}

async function block(gpu: Gpu, x1: Tensor, x2: Tensor, opts: PairwiseOptions): Promise<Float32Array> {
  let out!: Tensor;
  await run(gpu, "pairwise test", (step) => (out = pairwise(step, x1, x2, opts)));
  const got = await out.read();
  out.dispose();
  return got;
}

Deno.test("pairwise matches float64 at awkward shapes, every metric", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  // (n1, n2, d): tiles are 16 rows × 64 columns.
  const cases: [number, number, number][] = [[1, 1, 1], [17, 65, 3], [16, 64, 256], [65, 129, 31], [
    3,
    7,
    257,
  ]];
  for (let i = 0; i < 4; i++) {
    const [n1, n2, d] = pickSizes(rng, 3);
    cases.push([n1, n2, d]);
  }
  let seed = 100;
  for (const [n1, n2, d] of cases) {
    const r = new Rng(seed);
    const v1 = randn(r, n1, d);
    const v2 = randn(r, n2, d);
    const [x1, x2] = [tensor(gpu, v1, [n1, d]), tensor(gpu, v2, [n2, d])];
    const scale = Math.sqrt(2 * d); // about the typical distance, so exp spreads over (0, 1)
    for (const metric of METRICS) {
      const want = refPairwise(v1, v2, n1, n2, d, metric, scale);
      const got = await block(gpu, x1, x2, { metric, scale });
      const what = `pairwise ${metric} n1=${n1} n2=${n2} d=${d} seed=${seed}`;
      assertClose(what, got, want, pairwiseTolerance(d), maxAbs(want));
    }
    [x1, x2].forEach((t) => t.dispose());
    seed++;
  }
});

Deno.test("pairwise: a wrong metric or a transposed block is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const [n1, n2, d] = [9, 11, 6];
  const r = new Rng(7);
  const v1 = randn(r, n1, d);
  const v2 = randn(r, n2, d);
  const [x1, x2] = [tensor(gpu, v1, [n1, d]), tensor(gpu, v2, [n2, d])];
  const tol = pairwiseTolerance(d);
  for (const metric of METRICS) {
    const got = await block(gpu, x1, x2, { metric, scale: 3 });
    for (const other of METRICS.filter((m) => m !== metric)) {
      const want = refPairwise(v1, v2, n1, n2, d, other, 3);
      assert.throws(() => assertClose(`${metric} as ${other}`, got, want, tol, maxAbs(want)));
    }
    const transposed = refPairwise(v2, v1, n2, n1, d, metric, 3);
    assert.throws(() => assertClose(`${metric} transposed`, got, transposed, tol, maxAbs(transposed)));
  }
  // The exp kernel takes the unsquared distance over c: the squared one, or c = 1, must fail.
  const got = await block(gpu, x1, x2, { metric: "exp", scale: 3 });
  const squared = refPairwise(v1, v2, n1, n2, d, "sqeuclid").map((s) => Math.exp(-s / 3));
  assert.throws(() => assertClose("exp of squared", got, squared, tol));
  assert.throws(() => assertClose("exp c=1", got, refPairwise(v1, v2, n1, n2, d, "exp", 1), tol));
  [x1, x2].forEach((t) => t.dispose());
});

Deno.test("pairwise: distances are exact on the diagonal and never negative for near duplicates", async () => {
  // Rows 1 and 2 differ from row 0 in one entry by one ulp: ‖x‖² + ‖y‖² − 2⟨x, y⟩ would lose them.
  const gpu = await testGpu();
  const d = 64;
  const v = randn(new Rng(3), 3, d, 10);
  v.copyWithin(d, 0, d);
  v.copyWithin(2 * d, 0, d);
  v[d + 5] = v[5] * (1 + 2 ** -23);
  v[2 * d + 9] = v[9] * (1 - 2 ** -23);
  const x = tensor(gpu, v, [3, d]);
  const sq = await block(gpu, x, x, { metric: "sqeuclid" });
  const want = refPairwise(v, v, 3, 3, d, "sqeuclid");
  for (let i = 0; i < 3; i++) assert.equal(sq[i * 3 + i], 0);
  assertClose("pairwise near duplicates", sq, want, { atol: 0, rtol: 1e-6 });
  const ex = await block(gpu, x, x, { metric: "exp", scale: 2 });
  for (let i = 0; i < 3; i++) assert.equal(ex[i * 3 + i], 1);
  x.dispose();
});

Deno.test("pairwise: empty shapes and rows without features", async () => {
  const gpu = await testGpu();
  const none = tensor(gpu, new Float32Array(0), [0, 5]);
  const some = tensor(gpu, randn(new Rng(4), 4, 5), [4, 5]);
  let out!: Tensor;
  await run(gpu, "t", (s) => (out = pairwise(s, some, none, { metric: "dot" })));
  assert.deepEqual(out.shape, [4, 0]);
  out.dispose();
  // d = 0: every dot, cosine and distance is 0, every exp-kernel similarity 1.
  const flat = tensor(gpu, new Float32Array(0), [2, 0]);
  const expect: Record<Metric, number> = { dot: 0, cosine: 0, sqeuclid: 0, exp: 1 };
  for (const metric of METRICS) {
    assert.deepEqual([...await block(gpu, flat, flat, { metric })], new Array(4).fill(expect[metric]));
  }
  [none, some, flat].forEach((t) => t.dispose());
});

Deno.test("pairwise: mismatched shapes and bad options give typed errors naming the kernel", async () => {
  const gpu = await testGpu();
  const a = empty(gpu, [3, 4]);
  const b = empty(gpu, [5, 6]);
  const c = empty(gpu, [5, 4]);
  const wrongOut = empty(gpu, [5, 3]);
  const rejects = (record: (s: Step) => void, type: typeof InvalidInputError, re: RegExp) =>
    assert.rejects(() => run(gpu, "t", record), (e: unknown) => e instanceof type && re.test(e.message));
  await rejects(
    (s) => void pairwise(s, a, b, { metric: "dot" }),
    ShapeError,
    /pairwise: .*\(3, 4\).*\(5, 6\)/,
  );
  await rejects(
    (s) => encodePairwise(s, a, c, wrongOut, { metric: "sqeuclid" }),
    ShapeError,
    /pairwise: out .*\(3, 5\)/,
  );
  await rejects(
    (s) => void pairwise(s, a, c, { metric: "l1" as Metric }),
    InvalidInputError,
    /pairwise: unknown metric/,
  );
  await rejects(
    (s) => void pairwise(s, a, c, { metric: "exp", scale: 0 }),
    InvalidInputError,
    /pairwise: .*scale/,
  );
  [a, b, c, wrongOut].forEach((t) => t.dispose());
});

Deno.test("pairwise: rows over the binding limit are split into chunks", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    const [n1, n2, d] = [150, 40, 37]; // X1 is 22 KB, the block 24 KB: several chunks
    const r = new Rng(11);
    const v1 = randn(r, n1, d);
    const v2 = randn(r, n2, d);
    const [x1, x2] = [tensor(gpu, v1, [n1, d]), tensor(gpu, v2, [n2, d])];
    let dispatches = 0;
    let out!: Tensor;
    await run(gpu, "t", (s) => {
      out = pairwise(s, x1, x2, { metric: "sqeuclid" });
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    const want = refPairwise(v1, v2, n1, n2, d, "sqeuclid");
    assertClose("pairwise split", await out.read(), want, pairwiseTolerance(d), maxAbs(want));
  } finally {
    gpu.destroy();
  }
});
