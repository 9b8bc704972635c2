import assert from "node:assert/strict";
import {
  decodeMaskedArgmax,
  encodeMaskedArgmax,
  maskedArgmax,
  type MaskedArgmaxResult,
  NO_INDEX,
} from "../../../src/gpu/ops/masked_argmax.ts";
import { run } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import type { Gpu } from "../../../src/gpu/device.ts";
import { ShapeError } from "../../../src/errors.ts";
import { pickSizes, randn, Rng, testGpu } from "../../ref.ts";

/** Plain-loop reference: the first i with mask[i] = 0 (and v[i] > 0) holding the largest v[i]. */
function refMaskedArgmax(
  v: Float32Array,
  mask: Uint32Array,
  positiveOnly: boolean,
): MaskedArgmaxResult | null {
  let best: MaskedArgmaxResult | null = null;
  for (let i = 0; i < v.length; i++) {
    if (mask[i] !== 0 || Number.isNaN(v[i]) || (positiveOnly && !(v[i] > 0))) continue;
    if (best === null || v[i] > best.value) best = { index: i, value: v[i] };
  }
  return best;
}

/** The kernel on (v, mask), decoded. */
async function gpuMaskedArgmax(gpu: Gpu, v: Float32Array, mask: Uint32Array, positiveOnly: boolean) {
  const [vt, mt] = [tensor(gpu, v), tensor(gpu, mask)];
  let out!: Tensor<"u32">;
  await run(gpu, "masked_argmax test", (s) => (out = maskedArgmax(s, vt, mt, { positiveOnly })));
  const words = await out.read();
  [vt, mt, out].forEach((t) => t.dispose());
  return decodeMaskedArgmax(words);
}

/** Runs both modes and compares index and value (bit-exact: the value is v[index], copied). */
async function check(gpu: Gpu, v: Float32Array, mask: Uint32Array, what: string) {
  for (const positiveOnly of [false, true]) {
    const got = await gpuMaskedArgmax(gpu, v, mask, positiveOnly);
    assert.deepEqual(got, refMaskedArgmax(v, mask, positiveOnly), `${what} positiveOnly=${positiveOnly}`);
  }
}

/** A mask excluding each entry with probability `p`. */
function randomMask(rng: Rng, n: number, p: number): Uint32Array {
  return Uint32Array.from({ length: n }, () => rng.next() < p ? 1 + rng.int(5) : 0);
}

Deno.test("masked_argmax matches the reference at awkward sizes, both modes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  let seed = 100;
  for (const n of pickSizes(rng, 12, [0, 1, 2, 255, 256, 257, 4099])) {
    const r = new Rng(seed);
    await check(gpu, randn(r, n), randomMask(r, n, 0.3), `n=${n} seed=${seed++}`);
  }
});

Deno.test("masked_argmax: ties go to the lowest unmasked index, in and across workgroups", async () => {
  const gpu = await testGpu();
  const n = 3000; // 12 workgroups of 256
  const v = new Float32Array(n).fill(-1);
  for (const i of [2999, 1700, 300, 7, 5]) v[i] = 4;
  const mask = new Uint32Array(n);
  await check(gpu, v, mask, "ties");
  assert.equal((await gpuMaskedArgmax(gpu, v, mask, true))?.index, 5);
  mask[5] = 1;
  assert.equal((await gpuMaskedArgmax(gpu, v, mask, false))?.index, 7);
  mask[7] = 1;
  mask[300] = 1;
  assert.equal((await gpuMaskedArgmax(gpu, v, mask, false))?.index, 1700);
  // Small integers: ties everywhere.
  const r = new Rng(3);
  const tied = Float32Array.from({ length: n }, () => r.int(7) - 3);
  await check(gpu, tied, randomMask(r, n, 0.5), "many ties");
  // −0 and +0 are equal: the first wins, whichever sign it has.
  await check(gpu, Float32Array.of(-1, -0, 0, -0), new Uint32Array(4), "signed zeros");
  assert.equal((await gpuMaskedArgmax(gpu, Float32Array.of(-1, -0, 0), new Uint32Array(3), false))?.index, 1);
});

Deno.test("masked_argmax: all masked, and positive-only with no positive entry, give no index", async () => {
  const gpu = await testGpu();
  const v = randn(new Rng(5), 700);
  assert.equal(await gpuMaskedArgmax(gpu, v, new Uint32Array(700).fill(1), false), null);
  assert.equal(await gpuMaskedArgmax(gpu, new Float32Array(0), new Uint32Array(0), false), null);
  const nonPositive = Float32Array.from(v, (x) => -Math.abs(x));
  nonPositive[3] = 0;
  nonPositive[600] = -0;
  assert.equal(await gpuMaskedArgmax(gpu, nonPositive, new Uint32Array(700), true), null);
  assert.deepEqual(await gpuMaskedArgmax(gpu, nonPositive, new Uint32Array(700), false), {
    index: 3,
    value: 0,
  });
  // The only positive entry is masked.
  nonPositive[650] = 2;
  const mask = new Uint32Array(700);
  mask[650] = 1;
  assert.equal(await gpuMaskedArgmax(gpu, nonPositive, mask, true), null);
});

Deno.test("masked_argmax: NaN never wins, infinities do", async () => {
  const gpu = await testGpu();
  const v = Float32Array.of(1, NaN, -Infinity, 3, NaN, Infinity, 2);
  await check(gpu, v, new Uint32Array(7), "specials");
  const mask = Uint32Array.of(0, 0, 0, 1, 0, 1, 1);
  await check(gpu, v, mask, "specials masked");
  assert.deepEqual(
    await gpuMaskedArgmax(gpu, Float32Array.of(NaN, -Infinity, NaN), new Uint32Array(3), false),
    {
      index: 1,
      value: -Infinity,
    },
  );
});

Deno.test("masked_argmax: n = 300,001, more entries than threads, so threads walk several", async () => {
  const gpu = await testGpu();
  const n = 300_001;
  const threads = 1024 * 256; // the first pass's grid: entries past it are a thread's second step
  const r = new Rng(9);
  const v = randn(r, n);
  const mask = randomMask(r, n, 0.2);
  await check(gpu, v, mask, "n=300001");
  // A unique maximum at the edges of workgroups and of the grid stride must be seen wherever it is.
  mask.fill(0);
  const [vt, mt, out] = [tensor(gpu, v), tensor(gpu, mask), empty(gpu, [2], "u32")];
  for (const at of [0, 255, 256, threads - 1, threads, threads + 1, n - 2, n - 1]) {
    const old = v[at];
    v[at] = 100;
    vt.write(v);
    await run(gpu, "t", (s) => encodeMaskedArgmax(s, vt, mt, out, { positiveOnly: true }));
    assert.deepEqual(decodeMaskedArgmax(await out.read()), { index: at, value: 100 }, `max at ${at}`);
    v[at] = old;
  }
  [vt, mt, out].forEach((t) => t.dispose());
});

Deno.test("masked_argmax: out is written even for n = 0, by the final pass alone", async () => {
  const gpu = await testGpu();
  const out = tensor(gpu, Uint32Array.of(7, 7));
  const [v, mask] = [empty(gpu, [0]), empty(gpu, [0], "u32")];
  let dispatches = 0;
  await run(gpu, "t", (s) => {
    encodeMaskedArgmax(s, v, mask, out);
    dispatches = s.dispatches;
  });
  assert.equal(dispatches, 1, "only the final pass runs on an empty vector");
  assert.deepEqual([...await out.read()], [NO_INDEX, 0]);
  [out, v, mask].forEach((t) => t.dispose());
});

Deno.test("masked_argmax: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const v = empty(gpu, [5]);
  const mask = empty(gpu, [5], "u32");
  const rejects = (record: Parameters<typeof run>[2], pattern: RegExp) =>
    assert.rejects(
      () => run(gpu, "t", record),
      (e: unknown) => e instanceof ShapeError && pattern.test(e.message),
    );
  await rejects(
    (s) => void maskedArgmax(s, v, empty(gpu, [4], "u32")),
    /^masked_argmax: mask .*\(5\).*\(5\), got \(4\)/,
  );
  await rejects(
    (s) => void maskedArgmax(s, empty(gpu, [5, 1]), mask),
    /^masked_argmax: v must be 1-D, got shape \(5, 1\)/,
  );
  await rejects(
    (s) => void maskedArgmax(s, v, empty(gpu, [5]) as never),
    /^masked_argmax: mask must be u32, got f32/,
  );
  await rejects(
    (s) => encodeMaskedArgmax(s, v, mask, empty(gpu, [3], "u32")),
    /^masked_argmax: out .*\(2\), got \(3\)/,
  );
  [v, mask].forEach((t) => t.dispose());
});
