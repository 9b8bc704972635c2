import assert from "node:assert/strict";
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";
import { countBelow, type CountBelowOptions, encodeCountBelow } from "../../../src/gpu/ops/count_below.ts";
import { run, type Step } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { InvalidInputError, ShapeError } from "../../../src/errors.ts";
import { pickSizes, Rng, testGpu } from "../../ref.ts";

/** Entries on a grid of quarters in [−2, 2]: exactly representable, with many ties at any threshold. */
function quarters(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.int(17) - 8) / 4);
}

/** #{ j : a[i, j] < t }, skipping r0 + i == c0 + j when `diag`. */
function refCounts(a: Float32Array, n: number, m: number, t: number, diag = false, r0 = 0, c0 = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 0; j < m; j++) if (a[i * m + j] < t && !(diag && r0 + i === c0 + j)) k++;
    out.push(k);
  }
  return out;
}

async function counts(gpu: Gpu, a: Tensor, opts: CountBelowOptions): Promise<number[]> {
  let out!: Tensor<"u32">;
  await run(gpu, "count_below test", (step) => (out = countBelow(step, a, opts)));
  const got = [...await out.read()];
  out.dispose();
  return got;
}

Deno.test("count_below matches the reference at awkward shapes; thresholds equal to entries do not count", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  const cases: [number, number][] = [[1, 1], [1, 257], [65, 63], [7, 64], [3, 0]];
  for (let i = 0; i < 5; i++) {
    const [n, m] = pickSizes(rng, 2);
    cases.push([n, m]);
  }
  let seed = 100;
  for (const [n, m] of cases) {
    const av = quarters(new Rng(seed), n * m);
    const a = tensor(gpu, av, [n, m]);
    for (const t of [-2, -0.25, 0, 0.75, 2, 2.25]) {
      const want = refCounts(av, n, m, t);
      assert.deepEqual(
        await counts(gpu, a, { threshold: t }),
        want,
        `count_below n=${n} m=${m} t=${t} seed=${seed}`,
      );
    }
    a.dispose();
    seed++;
  }
});

Deno.test("count_below: strict comparison at an exactly representable threshold", async () => {
  // ≤ instead of < would count the two entries equal to 0.5.
  const gpu = await testGpu();
  const a = tensor(gpu, new Float32Array([0.5, 0.25, 0.5, 0.75, -1, 0.5000001]), [2, 3]);
  assert.deepEqual(await counts(gpu, a, { threshold: 0.5 }), [1, 1]);
  assert.deepEqual(await counts(gpu, a, { threshold: 0.75 }), [3, 2]);
  a.dispose();
});

Deno.test("count_below: column blocks with the diagonal excluded add up to the whole matrix's counts", async () => {
  // A square (n, n) matrix cut into row blocks × column blocks of awkward sizes, as NFG processes a class.
  const gpu = await testGpu();
  const n = 150;
  const full = quarters(new Rng(5), n * n);
  const t = 0.5;
  const want = refCounts(full, n, n, t, true);
  const cuts = [0, 1, 65, 129, n];
  const got: number[] = [];
  for (let bi = 0; bi + 1 < cuts.length; bi++) {
    const [r0, rows] = [cuts[bi], cuts[bi + 1] - cuts[bi]];
    const out = empty(gpu, [rows], "u32");
    const blocks: Tensor[] = [];
    await run(gpu, "t", (s) => {
      for (let bj = 0; bj + 1 < cuts.length; bj++) {
        const [c0, cols] = [cuts[bj], cuts[bj + 1] - cuts[bj]];
        const block = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          block.set(full.subarray((r0 + i) * n + c0, (r0 + i) * n + c0 + cols), i * cols);
        }
        blocks.push(tensor(gpu, block, [rows, cols]));
        const opts = {
          threshold: t,
          excludeDiagonal: true,
          rowOffset: r0,
          colOffset: c0,
          accumulate: bj > 0,
        };
        encodeCountBelow(s, blocks[bj], out, opts);
      }
    });
    got.push(...await out.read());
    [out, ...blocks].forEach((x) => x.dispose());
  }
  assert.deepEqual(got, want);
  // Without exclusion every diagonal entry below t counts once more.
  const a = tensor(gpu, full, [n, n]);
  assert.deepEqual(await counts(gpu, a, { threshold: t }), refCounts(full, n, n, t));
  assert.notDeepEqual(refCounts(full, n, n, t), want);
  a.dispose();
});

Deno.test("count_below: accumulate adds to earlier counts; NaN never counts", async () => {
  const gpu = await testGpu();
  const a = tensor(gpu, new Float32Array([NaN, -1, 3, NaN, NaN, NaN]), [2, 3]);
  const out = tensor(gpu, new Uint32Array([10, 20]));
  await run(gpu, "t", (s) => encodeCountBelow(s, a, out, { threshold: 5, accumulate: true }));
  assert.deepEqual([...await out.read()], [12, 20]);
  await run(gpu, "t", (s) => encodeCountBelow(s, a, out, { threshold: 0 }));
  assert.deepEqual([...await out.read()], [1, 0]);
  [a, out].forEach((x) => x.dispose());
});

Deno.test("count_below: empty shapes", async () => {
  const gpu = await testGpu();
  const none = tensor(gpu, new Float32Array(0), [0, 4]);
  assert.deepEqual(await counts(gpu, none, { threshold: 1 }), []);
  // m = 0: counts are 0, or unchanged when accumulating.
  const flat = tensor(gpu, new Float32Array(0), [2, 0]);
  const out = tensor(gpu, new Uint32Array([7, 8]));
  await run(gpu, "t", (s) => encodeCountBelow(s, flat, out, { threshold: 1, accumulate: true }));
  assert.deepEqual([...await out.read()], [7, 8]);
  assert.deepEqual(await counts(gpu, flat, { threshold: 1 }), [0, 0]);
  [none, flat, out].forEach((x) => x.dispose());
});

Deno.test("count_below: bad shapes and options give typed errors naming the kernel", async () => {
  const gpu = await testGpu();
  const a = empty(gpu, [3, 4]);
  const flat = empty(gpu, [12]);
  const wrong = empty(gpu, [4], "u32");
  const f32 = empty(gpu, [3]);
  const rejects = (record: (s: Step) => void, type: typeof InvalidInputError, re: RegExp) =>
    assert.rejects(() => run(gpu, "t", record), (e: unknown) => e instanceof type && re.test(e.message));
  await rejects(
    (s) => void countBelow(s, flat, { threshold: 0 }),
    ShapeError,
    /count_below: A must be 2-D.*\(12\)/,
  );
  await rejects(
    (s) => encodeCountBelow(s, a, wrong, { threshold: 0 }),
    ShapeError,
    /count_below: counts .*\(3\)/,
  );
  await rejects(
    (s) => encodeCountBelow(s, a, f32 as never, { threshold: 0 }),
    ShapeError,
    /count_below: counts must be u32/,
  );
  await rejects(
    (s) => void countBelow(s, a, { threshold: NaN }),
    InvalidInputError,
    /count_below: .*threshold/,
  );
  await rejects(
    (s) => void countBelow(s, a, { threshold: 0, rowOffset: -1 }),
    InvalidInputError,
    /count_below: rowOffset/,
  );
  [a, flat, wrong, f32].forEach((x) => x.dispose());
});

Deno.test("count_below: rows over the binding limit are split into chunks", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    const [n, m] = [150, 61]; // A is 36 KB: several chunks
    const av = quarters(new Rng(11), n * m);
    const a = tensor(gpu, av, [n, m]);
    let dispatches = 0;
    let out!: Tensor<"u32">;
    const opts = { threshold: 0.25, excludeDiagonal: true, rowOffset: 3, colOffset: 40 };
    await run(gpu, "t", (s) => {
      out = countBelow(s, a, opts);
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
    assert.deepEqual([...await out.read()], refCounts(av, n, m, 0.25, true, 3, 40));
  } finally {
    gpu.destroy();
  }
});
