/**
 * Smoke test of the kernel benchmark (bench/kernels.ts): every case, run once at a tiny size, must give
 * on the GPU what its plain-TypeScript twin gives, so the benchmark never times two different
 * computations against each other. Nothing is timed. The tolerance is loose on purpose — the kernels'
 * own tests (test/gpu/ops) hold them to float64 references; here a wrong twin, wrong shape or swapped
 * argument is what must fail. u32 outputs (argmax, counts, indices) must match exactly.
 */
import assert from "node:assert/strict";
import { caseSpecs, runOnce, SIZES, type Tier } from "../../bench/kernels.ts";
import { testGpu } from "../ref.ts";

/** Loose: |gpu − ts| ≤ LOOSE · (max |ts| + |ts[i]|); float32 sums in another order differ by far less. */
const LOOSE = 1e-3;

function compare(what: string, actual: ArrayLike<number>, expected: Float32Array | Uint32Array): void {
  assert(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const exact = expected instanceof Uint32Array;
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    const bound = exact ? 0 : LOOSE * (scale + Math.abs(e));
    if (!(Math.abs(a - e) <= bound)) {
      throw new Error(`${what}: element ${i}: GPU ${a}, TS twin ${e} (bound ${bound})`);
    }
  }
}

Deno.test("bench kernels: every family has three quick and three full sizes", () => {
  for (const [family, sizes] of Object.entries(SIZES)) {
    const expected = family === "matmulTransposed" || family === "pairwiseOther" ? 1 : 3;
    for (const tier of ["quick", "full"] as Tier[]) {
      assert(sizes[tier].length === expected, `${family}: ${sizes[tier].length} ${tier} sizes`);
    }
  }
  const kernels = (tier: Tier) => [...new Set(caseSpecs(tier).map((c) => c.kernel))].sort();
  assert(
    JSON.stringify(kernels("tiny")) === JSON.stringify(kernels("full")),
    "tiny and full cover other kernels",
  );
  for (const role of ["matmul", "pairwise", "factorGram", "materialised"]) {
    assert(caseSpecs("full").filter((c) => c.target === role).length === 1, `one ${role} target row`);
  }
});

Deno.test("bench kernels: each case's GPU result equals its TS twin (tiny sizes)", async (t) => {
  const gpu = await testGpu();
  for (const spec of caseSpecs("tiny")) {
    await t.step(`${spec.kernel} ${spec.size}`, async () => {
      const c = spec.setup(gpu);
      try {
        await runOnce(gpu, c);
        for (const [name, tensor, expected] of c.outputs) {
          compare(`${spec.kernel} ${spec.size} ${name}`, await tensor.read(), expected);
        }
      } finally {
        c.dispose();
      }
    });
  }
});
