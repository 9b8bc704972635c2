import assert from "node:assert/strict";
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";
import {
  encodeFactorGram,
  factorGram,
  type FactorGramOptions,
  factorGramTolerance,
  type FactorGramVariant,
  type Factors,
} from "../../../src/gpu/ops/factor_gram.ts";
import { matmul, matmulTolerance } from "../../../src/gpu/ops/matmul.ts";
import { perSampleGrad } from "../../../src/gpu/ops/per_sample_grad.ts";
import { run, type Step } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, pickSizes, randn, Rng, testGpu } from "../../ref.ts";

/** A row set's factors on the CPU: e (n, C), h (n, D). */
interface Rows {
  n: number;
  e: Float32Array;
  h: Float32Array;
}

function rows(rng: Rng, n: number, c: number, d: number): Rows {
  return { n, e: randn(rng, n, c), h: randn(rng, n, d) };
}

/** Float64 gᵢ = [eᵢ ⊗ hᵢ, eᵢ] (bias) or eᵢ ⊗ hᵢ, row by row. */
function refGrads(x: Rows, c: number, d: number, bias: boolean): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < x.n; i++) {
    const g = new Float64Array(bias ? c * (d + 1) : c * d);
    for (let k = 0; k < c; k++) {
      for (let t = 0; t < d; t++) g[k * d + t] = x.e[i * c + k] * x.h[i * d + t];
      if (bias) g[c * d + k] = x.e[i * c + k];
    }
    out.push(g);
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t] * b[t];
  return s;
}

/** Float64 ⟨g1ᵢ, g2ⱼ⟩ (or its cosine, 0 for a zero gradient) from materialised gradients: no factorisation. */
function refGram(a: Rows, b: Rows, c: number, d: number, bias: boolean, cosine: boolean): Float64Array {
  const ga = refGrads(a, c, d, bias);
  const gb = refGrads(b, c, d, bias);
  const out = new Float64Array(a.n * b.n);
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < b.n; j++) {
      const g = dot(ga[i], gb[j]);
      const den = Math.sqrt(dot(ga[i], ga[i]) * dot(gb[j], gb[j]));
      out[i * b.n + j] = !cosine ? g : den > 0 ? g / den : 0;
    }
  }
  return out;
}

function upload(gpu: Gpu, x: Rows, c: number, d: number): Factors {
  return { e: tensor(gpu, x.e, [x.n, c]), h: tensor(gpu, x.h, [x.n, d]) };
}

/** Both computations run on every adapter in these tests, whichever one the adapter gets by default. */
const VARIANTS: FactorGramVariant[] = ["blocked", "fused"];

async function gram(gpu: Gpu, a: Factors, b: Factors, opts: FactorGramOptions): Promise<Float32Array> {
  let out!: Tensor;
  await run(gpu, "factor_gram test", (step) => (out = factorGram(step, a, b, opts)));
  const got = await out.read();
  out.dispose();
  return got;
}

function dispose(...fs: Factors[]) {
  for (const f of fs) [f.e, f.h].forEach((t) => t.dispose());
}

Deno.test("factor_gram matches float64 ⟨gᵢ, gⱼ⟩ at awkward shapes, bias and cosine modes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(1);
  // (n1, n2, C, D): tiles are 16 rows × 64 columns (blocked), 64 × 64 (fused, k in slabs of 16; whole
  // tiles and slabs take its unchecked staging).
  const cases: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [131, 67, 17, 33],
    [65, 63, 10, 64],
    [17, 129, 3, 257],
    [64, 1, 13, 7],
    [16, 64, 10, 255],
  ];
  for (let i = 0; i < 4; i++) {
    const [n1, n2, d] = pickSizes(rng, 3);
    cases.push([n1, n2, [1, 2, 10, 13][rng.int(4)], d]);
  }
  let seed = 100;
  for (const [n1, n2, c, d] of cases) {
    const r = new Rng(seed);
    const a = rows(r, n1, c, d);
    const b = rows(r, n2, c, d);
    const [ga, gb] = [upload(gpu, a, c, d), upload(gpu, b, c, d)];
    for (const variant of VARIANTS) {
      for (const bias of [true, false]) {
        for (const cosine of [false, true]) {
          const want = refGram(a, b, c, d, bias, cosine);
          const what =
            `factor_gram ${variant} n1=${n1} n2=${n2} C=${c} D=${d} bias=${bias} cosine=${cosine} ` +
            `seed=${seed}`;
          assertClose(
            what,
            await gram(gpu, ga, gb, { bias, cosine, variant }),
            want,
            factorGramTolerance(c, d),
            maxAbs(want),
          );
        }
      }
    }
    dispose(ga, gb);
    seed++;
  }
});

Deno.test("factor_gram equals per_sample_grad then matmul(G, Gᵀ) on the same data", async () => {
  const gpu = await testGpu();
  const [n, c, d] = [97, 10, 65];
  const x = rows(new Rng(2), n, c, d);
  const f = upload(gpu, x, c, d);
  for (const bias of [true, false]) {
    let viaGrads!: Tensor;
    await run(gpu, "t", (s) => {
      const g = perSampleGrad(s, f.e, f.h, { bias });
      viaGrads = matmul(s, g, g, { transB: true });
      g.dispose();
    });
    const want = await viaGrads.read();
    const k = bias ? c * (d + 1) : c * d;
    assertClose(
      `factor_gram vs matmul bias=${bias}`,
      await gram(gpu, f, f, { bias }),
      want,
      matmulTolerance(k),
      maxAbs(want),
    );
    viaGrads.dispose();
  }
  dispose(f);
});

Deno.test("factor_gram: a missing bias term, a transposed or shifted block is caught by the tolerance", async () => {
  const gpu = await testGpu();
  const [n1, n2, c, d] = [9, 11, 4, 6];
  const r = new Rng(7);
  const a = rows(r, n1, c, d);
  const b = rows(r, n2, c, d);
  const [fa, fb] = [upload(gpu, a, c, d), upload(gpu, b, c, d)];
  for (const variant of VARIANTS) {
    const got = await gram(gpu, fa, fb, { bias: true, variant });
    const tol = factorGramTolerance(c, d);
    assertClose(variant, got, refGram(a, b, c, d, true, false), tol, maxAbs(got));
    const noBias = refGram(a, b, c, d, false, false);
    assert.throws(() => assertClose("no bias", got, noBias, tol, maxAbs(noBias)));
    const transposed = refGram(b, a, c, d, true, false);
    assert.throws(() => assertClose("transposed", got, transposed, tol, maxAbs(transposed)));
    const want = refGram(a, b, c, d, true, false);
    const shifted = want.map((_, i) => want[(i + 1) % want.length]);
    assert.throws(() => assertClose("shifted", got, shifted, tol, maxAbs(shifted)));
  }
  dispose(fa, fb);
});

Deno.test("factor_gram: NFG's cosine is cos(eᵢ, eⱼ)·cos(hᵢ, hⱼ); a zero gradient has cosine 0", async () => {
  const gpu = await testGpu();
  const [n, c, d] = [12, 5, 33];
  const x = rows(new Rng(9), n, c, d);
  x.e.fill(0, 3 * c, 4 * c); // row 3: e = 0, so g₃ = 0
  const f = upload(gpu, x, c, d);
  const cos = (v: Float32Array, k: number, i: number, j: number) => {
    let s = 0, p = 0, q = 0;
    for (let t = 0; t < k; t++) {
      s += v[i * k + t] * v[j * k + t];
      p += v[i * k + t] ** 2;
      q += v[j * k + t] ** 2;
    }
    return p > 0 && q > 0 ? s / Math.sqrt(p * q) : 0;
  };
  const want = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) want[i * n + j] = cos(x.e, c, i, j) * cos(x.h, d, i, j);
  }
  for (const variant of VARIANTS) {
    const got = await gram(gpu, f, f, { bias: false, cosine: true, variant });
    assertClose(`factor_gram ${variant} NFG cosine`, got, want, factorGramTolerance(c, d));
    for (let j = 0; j < n; j++) assert.equal(got[3 * n + j], 0);
  }
  dispose(f);
});

Deno.test("factor_gram: the default is blocked on CPU adapters, fused on GPUs", async () => {
  const gpu = await testGpu();
  const [n, c, d] = [40, 10, 33];
  const f = upload(gpu, rows(new Rng(12), n, c, d), c, d);
  const kernels = async (variant?: FactorGramVariant) => {
    const names: string[] = [];
    let out!: Tensor;
    await run(gpu, "t", (s) => {
      const dispatch = s.dispatch.bind(s);
      s.dispatch = (spec, ...rest) => (names.push(spec.name), dispatch(spec, ...rest));
      out = factorGram(s, f, f, { cosine: true, variant });
    });
    out.dispose();
    return names;
  };
  assert.deepEqual(await kernels("blocked"), ["factor_gram"]);
  const fused = await kernels("fused");
  assert.ok(fused.includes("factor_gram_fused") && !fused.includes("factor_gram"), fused.join());
  assert.deepEqual(await kernels(), gpu.onCpu ? ["factor_gram"] : fused);
  dispose(f);
});

Deno.test("factor_gram: empty shapes", async () => {
  const gpu = await testGpu();
  const none = upload(gpu, { n: 0, e: new Float32Array(0), h: new Float32Array(0) }, 3, 5);
  const some = upload(gpu, rows(new Rng(4), 4, 3, 5), 3, 5);
  let out!: Tensor;
  await run(gpu, "t", (s) => (out = factorGram(s, none, some)));
  assert.deepEqual(out.shape, [0, 4]);
  out.dispose();
  // D = 0: G = ⟨e1ᵢ, e2ⱼ⟩ · β.
  const e = new Float32Array([1, 2, 3, 4]);
  const flat = upload(gpu, { n: 2, e, h: new Float32Array(0) }, 2, 0);
  for (const variant of VARIANTS) {
    assert.deepEqual([...await gram(gpu, flat, flat, { bias: true, variant })], [5, 11, 11, 25]);
    assert.deepEqual([...await gram(gpu, flat, flat, { bias: false, variant })], [0, 0, 0, 0]);
  }
  dispose(none, some, flat);
});

Deno.test("factor_gram: mismatched shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const a = { e: empty(gpu, [3, 4]), h: empty(gpu, [3, 8]) };
  const fewer = { e: empty(gpu, [3, 4]), h: empty(gpu, [2, 8]) };
  const otherC = { e: empty(gpu, [5, 2]), h: empty(gpu, [5, 8]) };
  const b = { e: empty(gpu, [5, 4]), h: empty(gpu, [5, 8]) };
  const wrongOut = empty(gpu, [5, 3]);
  const rejects = (record: (s: Step) => void, re: RegExp) =>
    assert.rejects(
      () => run(gpu, "t", record),
      (e: unknown) => e instanceof ShapeError && re.test(e.message),
    );
  await rejects((s) => void factorGram(s, fewer, b), /factor_gram: e and h .*h1 \(2, 8\)/);
  await rejects((s) => void factorGram(s, a, otherC), /factor_gram: .* differ: .*e2 \(5, 2\)/);
  await rejects(
    (s) => encodeFactorGram(s, a, b, wrongOut),
    /factor_gram: out must have shape \(3, 5\), got \(5, 3\)/,
  );
  dispose(a, fewer, otherC, b);
  wrongOut.dispose();
});

Deno.test("factor_gram: rows over the binding limit are split into chunks", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    const [n1, n2, c, d] = [150, 40, 3, 37]; // h1 is 22 KB, G 24 KB: several chunks
    const r = new Rng(11);
    const a = rows(r, n1, c, d);
    const b = rows(r, n2, c, d);
    const fa = { e: tensor(gpu, a.e, [n1, c]), h: tensor(gpu, a.h, [n1, d]) };
    const fb = { e: tensor(gpu, b.e, [n2, c]), h: tensor(gpu, b.h, [n2, d]) };
    // "products" needs the output in one binding: it falls back to the blocked kernel's chunks.
    for (const variant of VARIANTS) {
      let dispatches = 0;
      let out!: Tensor;
      await run(gpu, "t", (s) => {
        out = factorGram(s, fa, fb, { variant });
        dispatches = s.dispatches;
      });
      assert.ok(dispatches > 1, `expected a split, got ${dispatches} dispatch`);
      const want = refGram(a, b, c, d, true, false);
      assertClose(
        `factor_gram ${variant} split`,
        await out.read(),
        want,
        factorGramTolerance(c, d),
        maxAbs(want),
      );
      out.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
