import assert from "node:assert/strict";
import { ompGpu } from "../../src/selection/omp_gpu.ts";
import { ompObjective, ompReference } from "../../src/selection/omp_reference.ts";
import { tensor } from "../../src/gpu/tensor.ts";
import { CancelledError } from "../../src/errors.ts";
import { assertClose, Rng, testGpu } from "../ref.ts";

/** A random well-conditioned problem: Gaussian rows plus a shared positive drift (so many pᵢ > 0). */
function problem(seed: number, n: number, d: number): Float32Array {
  const rng = new Rng(seed);
  const g = rng.normals(n * d);
  const drift = rng.normals(d, 0.5);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) g[i * d + c] += drift[c];
  return g;
}

/**
 * Row i of decade q = i mod 6 is nonzero only on the q-th sixth of the features and scaled by 10^−2q
 * (magnitudes 1 down to 1e−10); with λ = 0 the reference picks from every decade.
 */
function decades(seed: number, n: number, d: number): Float32Array {
  const g = problem(seed, n, d);
  return g.map((v, at) => {
    const q = Math.floor(at / d) % 6;
    return Math.floor((6 * (at % d)) / d) === q ? v * 10 ** (-2 * q) : 0;
  });
}

Deno.test("Batch-OMP (dense, GPU) picks the reference OMP's indices; objective within 1e-4 relative", async () => {
  const gpu = await testGpu();
  for (
    const [seed, n, d, k, lambda] of [[1, 50, 20, 10, 0.5], [2, 300, 64, 40, 0.5], [3, 200, 30, 25, 0], [
      4,
      97,
      13,
      12,
      2,
    ]]
  ) {
    const gv = problem(seed, n, d);
    const ref = ompReference(gv, n, d, { k, lambda });
    const g = tensor(gpu, gv, [n, d]);
    const got = await ompGpu(gpu, { kind: "dense", g }, { k, lambda, chunk: 7 });
    g.dispose();
    const what = `seed=${seed} n=${n} d=${d} k=${k} λ=${lambda}`;
    assert.deepEqual([...got.indices].sort((a, b) => a - b), [...ref.indices].sort((a, b) => a - b), what);
    const objGpu = ompObjective(gv, n, d, got.indices, got.weights);
    const objRef = ompObjective(gv, n, d, ref.indices, ref.weights);
    assert.ok(objGpu <= objRef * (1 + 1e-4) + 1e-7, `${what}: objective ${objGpu} vs reference ${objRef}`);
    assert.ok(got.weights.every((w) => w > 0));
  }
});

/** gᵢ = [eᵢ ⊗ hᵢ, eᵢ] materialised (n × C·(D+1)). */
export function materialise(
  e: Float32Array,
  h: Float32Array,
  n: number,
  c: number,
  dh: number,
  bias = true,
): Float32Array {
  const d = c * dh + (bias ? c : 0);
  const g = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) {
      for (let b = 0; b < dh; b++) g[i * d + a * dh + b] = e[i * c + a] * h[i * dh + b];
      if (bias) g[i * d + c * dh + a] = e[i * c + a];
    }
  }
  return g;
}

/**
 * A factored problem shaped like a classifier's last layer: eᵢ near −0.6 at class i mod C, small elsewhere;
 * hᵢ ≥ 0 (post-ReLU); g materialised (width fd = C·(D + 1)).
 */
function factoredProblem(rng: Rng, n: number, c: number, dh: number) {
  const ev = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) ev[i * c + a] = rng.next() * 0.3 - (a === i % c ? 0.6 : 0);
  }
  const hv = Float32Array.from(rng.normals(n * dh), Math.abs);
  return { ev, hv, mg: materialise(ev, hv, n, c, dh), fd: c * (dh + 1) };
}

/** ⟨gᵢ, Σⱼ gⱼ⟩ in float64. */
export function targetCorrelations(g: Float32Array, n: number, d: number): Float32Array {
  const b = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) b[c] += g[i * d + c];
  return Float32Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += g[i * d + c] * b[c];
    return s;
  });
}

Deno.test("Batch-OMP (factored gᵢ = [eᵢ⊗hᵢ, eᵢ], Gram columns) picks the reference's indices", async () => {
  const gpu = await testGpu();
  for (
    const [seed, n, c, dh, k, lambda] of [[5, 120, 4, 9, 15, 0.5], [6, 257, 10, 16, 30, 0.5], [
      7,
      64,
      3,
      5,
      64,
      0.1,
    ]]
  ) {
    const rng = new Rng(seed);
    // Errors of a softmax classifier: rows sum to 0; embeddings non-negative (post-ReLU).
    const ev = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      const y = rng.int(c);
      for (let a = 0; a < c; a++) ev[i * c + a] = rng.next() * 0.3 - (a === y ? 0.6 : 0);
    }
    const hv = Float32Array.from(rng.normals(n * dh), Math.abs);
    const gv = materialise(ev, hv, n, c, dh);
    const d = c * (dh + 1);
    const ref = ompReference(gv, n, d, { k, lambda });
    const [e, h] = [tensor(gpu, ev, [n, c]), tensor(gpu, hv, [n, dh])];
    const got = await ompGpu(gpu, { kind: "factored", e, h, bias: true, p0: targetCorrelations(gv, n, d) }, {
      k,
      lambda,
    });
    [e, h].forEach((t) => t.dispose());
    const what = `factored seed=${seed} n=${n} C=${c} D=${dh} k=${k}`;
    assert.deepEqual([...got.indices].sort((a, b) => a - b), [...ref.indices].sort((a, b) => a - b), what);
    const [o1, o2] = [
      ompObjective(gv, n, d, got.indices, got.weights),
      ompObjective(gv, n, d, ref.indices, ref.weights),
    ];
    assert.ok(o1 <= o2 * (1 + 1e-4) + 1e-7, `${what}: objective ${o1} vs ${o2}`);
  }
});

Deno.test("OMP repairs negative weights: the reference drops atoms and Batch-OMP matches it", async () => {
  // Rows near ±base (every third one flipped) make some least-squares weights go negative; d > k keeps
  // the problem well-conditioned, so a dependent-atom skip is not what happens here.
  const gpu = await testGpu();
  const rng = new Rng(1);
  const [n, d, k] = [150, 60, 25];
  const gv = new Float32Array(n * d);
  const base = rng.normals(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) gv[i * d + c] = base[c] * (i % 3 === 0 ? -0.5 : 1) + rng.normal() * 0.5;
  }
  const ref = ompReference(gv, n, d, { k, lambda: 0.1 });
  assert.ok(ref.iterations > ref.indices.length, "the problem must exercise a drop");
  const g = tensor(gpu, gv, [n, d]);
  const got = await ompGpu(gpu, { kind: "dense", g }, { k, lambda: 0.1, chunk: 5 });
  g.dispose();
  assert.deepEqual([...got.indices].sort((a, b) => a - b), [...ref.indices].sort((a, b) => a - b));
  assert.equal(got.unresolvedNegatives, 0);
  const [o1, o2] = [
    ompObjective(gv, n, d, got.indices, got.weights),
    ompObjective(gv, n, d, ref.indices, ref.weights),
  ];
  assert.ok(o1 <= o2 * (1 + 1e-4) + 1e-7, `objective ${o1} vs ${o2}`);
});

Deno.test("OMP edge cases: k = 1, k = n, no positive correlation left", async () => {
  const gpu = await testGpu();
  const gv = problem(9, 40, 8);
  const g = tensor(gpu, gv, [40, 8]);
  const one = await ompGpu(gpu, { kind: "dense", g }, { k: 1, lambda: 0.5 });
  assert.equal(one.indices.length, 1);
  assert.deepEqual([...one.indices], [...ompReference(gv, 40, 8, { k: 1, lambda: 0.5 }).indices]);
  const all = await ompGpu(gpu, { kind: "dense", g }, { k: 40, lambda: 0.5 });
  const refAll = ompReference(gv, 40, 8, { k: 40, lambda: 0.5 });
  assert.deepEqual([...all.indices].sort((a, b) => a - b), [...refAll.indices].sort((a, b) => a - b));
  assert.ok(all.indices.length <= 40);
  g.dispose();
  // All rows anti-correlated with nothing positive: zero rows give p = 0 everywhere, so nothing is picked.
  const z = tensor(gpu, new Float32Array(5 * 3), [5, 3]);
  const none = await ompGpu(gpu, { kind: "dense", g: z }, { k: 3 });
  assert.equal(none.indices.length, 0);
  z.dispose();
});

Deno.test("hybrid Batch-OMP (float64 Cholesky on the CPU) picks the reference's indices, dense and factored", async () => {
  const { ompHybrid } = await import("../../src/selection/omp_hybrid.ts");
  const gpu = await testGpu();
  for (const [seed, n, d, k, lambda] of [[1, 50, 20, 10, 0.5], [2, 300, 64, 40, 0.5], [3, 200, 30, 25, 0]]) {
    const gv = problem(seed, n, d);
    const ref = ompReference(gv, n, d, { k, lambda });
    const g = tensor(gpu, gv, [n, d]);
    const got = await ompHybrid(gpu, { kind: "dense", g }, { kind: "dense", g: gv, n, d }, { k, lambda });
    g.dispose();
    assert.deepEqual([...got.indices], [...ref.indices], `dense seed=${seed}: same picks in the same order`);
    assertClose(`dense seed=${seed} weights`, got.weights, ref.weights, { atol: 1e-6, rtol: 1e-5 });
  }
  // The drop-heavy problem of the repair test, and a factored one.
  const rng = new Rng(1);
  const [n, d] = [150, 60];
  const gv = new Float32Array(n * d);
  const base = rng.normals(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) gv[i * d + c] = base[c] * (i % 3 === 0 ? -0.5 : 1) + rng.normal() * 0.5;
  }
  const ref = ompReference(gv, n, d, { k: 25, lambda: 0.1 });
  const g = tensor(gpu, gv, [n, d]);
  const got = await ompHybrid(gpu, { kind: "dense", g }, { kind: "dense", g: gv, n, d }, {
    k: 25,
    lambda: 0.1,
  });
  g.dispose();
  assert.deepEqual([...got.indices], [...ref.indices]);
  const [fn, c, dh] = [120, 4, 9];
  const { ev, hv, mg, fd } = factoredProblem(rng, fn, c, dh);
  const fref = ompReference(mg, fn, fd, { k: 15, lambda: 0.5 });
  const [e, h] = [tensor(gpu, ev, [fn, c]), tensor(gpu, hv, [fn, dh])];
  const cpu = { kind: "factored" as const, e: ev, h: hv, n: fn, c, dh, bias: true };
  const fgot = await ompHybrid(
    gpu,
    { kind: "factored", e, h, bias: true, p0: targetCorrelations(mg, fn, fd) },
    cpu,
    {
      k: 15,
      lambda: 0.5,
    },
  );
  [e, h].forEach((t) => t.dispose());
  assert.deepEqual([...fgot.indices], [...fref.indices], "factored");
});

Deno.test("hybrid Batch-OMP runs ahead of the GPU (fewer read-backs than iterations) with the reference's picks", async () => {
  const { ompHybrid } = await import("../../src/selection/omp_hybrid.ts");
  const gpu = await testGpu();
  // Dense, λ = 0 and λ > 0; then the drop-heavy problem (guesses are undone across Givens removals).
  const rng = new Rng(1); // the repair test's problem, which drops atoms
  const drops = new Float32Array(150 * 60);
  const base = rng.normals(60);
  for (let i = 0; i < 150; i++) {
    for (let c = 0; c < 60; c++) drops[i * 60 + c] = base[c] * (i % 3 === 0 ? -0.5 : 1) + rng.normal() * 0.5;
  }
  // [what, g, n, d, k, λ, f16 pass, SIMD algebra]
  const cases: [string, Float32Array, number, number, number, number, boolean, boolean][] = [
    ["dense λ=0.5", problem(12, 300, 48), 300, 48, 40, 0.5, false, true],
    ["dense λ=0", problem(13, 250, 60), 250, 60, 50, 0, false, true],
    ["drops", drops, 150, 60, 25, 0.1, false, true],
    // More rows than the pool holds (2,048 with the SIMD algebra, 512 with plain loops): guesses miss,
    // and speculative batches are dropped and undone.
    ["misses", problem(7, 3000, 32), 3000, 32, 60, 0.5, false, true],
    ["misses, plain loops", problem(7, 1200, 32), 1200, 32, 60, 0.5, false, false],
    ["drops, plain loops", drops, 150, 60, 25, 0.1, false, false],
    // The f16 pass (re-checked in float64), d not a multiple of 4.
    ["dense f16 λ=0.5", problem(14, 300, 45), 300, 45, 40, 0.5, true, true],
    // Rows over ten decades, each decade alone on its block of features, so that λ = 0 picks from every
    // decade: the smallest rows' halves are subnormal and flushed to zero, their picks found in float64.
    ["dense f16, rows over ten decades", decades(17, 300, 45), 300, 45, 40, 0, true, true],
    ["dense f16 λ=0", problem(15, 200, 70), 200, 70, 60, 0, true, true],
    // The batched f16 device with misses: its drafted guesses are checked against each new pool, cut and
    // undone where they disagree.
    ["misses, f16", problem(16, 3000, 33), 3000, 33, 60, 0.5, true, true],
  ];
  for (const [what, gv, n, d, k, lambda, denseF16, simd] of cases) {
    const ref = ompReference(gv, n, d, { k, lambda });
    if (what === "drops") assert.ok(ref.iterations > ref.indices.length, "the problem must exercise a drop");
    const g = tensor(gpu, gv, [n, d]);
    const got = await ompHybrid(gpu, { kind: "dense", g }, { kind: "dense", g: gv, n, d }, {
      k,
      lambda,
      denseF16,
      simd,
    });
    g.dispose();
    assert.deepEqual([...got.indices], [...ref.indices], `${what}: same picks in the same order`);
    assertClose(`${what} weights`, got.weights, ref.weights, { atol: 1e-6, rtol: 1e-5 });
    assert.ok(
      got.readBacks! < got.iterations,
      `${what}: ${got.readBacks} read-backs for ${got.iterations} iterations`,
    );
    // Windows overflow (and rows are scanned in full) only where f16's bounds dwarf the correlations.
    const deep = what === "dense f16, rows over ten decades";
    assert.equal(got.fullScans! > 0, deep, `${what}: ${got.fullScans} full scans`);
    if (what.startsWith("misses")) {
      assert.ok(
        got.passes! > got.iterations + 10,
        `misses: ${got.passes} passes, ${got.iterations} iterations`,
      );
    }
  }
  // Factored, with C and D that are not multiples of 4; the second has more rows than the pool holds, so
  // guesses miss and speculative batches are dropped; the third as the second with plain loops.
  for (const [n, c, dh, k, simd] of [[256, 7, 19, 40, 1], [1500, 7, 19, 60, 1], [1500, 7, 19, 60, 0]]) {
    const { ev, hv, mg, fd } = factoredProblem(rng, n, c, dh);
    const ref = ompReference(mg, n, fd, { k, lambda: 0.5 });
    const [e, h] = [tensor(gpu, ev, [n, c]), tensor(gpu, hv, [n, dh])];
    const cpu = { kind: "factored" as const, e: ev, h: hv, n, c, dh, bias: true };
    const p0 = targetCorrelations(mg, n, fd);
    const got = await ompHybrid(gpu, { kind: "factored", e, h, bias: true, p0 }, cpu, {
      k,
      lambda: 0.5,
      simd: simd === 1,
    });
    [e, h].forEach((t) => t.dispose());
    assert.deepEqual([...got.indices], [...ref.indices], `factored n=${n}: same picks in the same order`);
    assertClose(`factored n=${n} weights`, got.weights, ref.weights, { atol: 1e-6, rtol: 1e-5 });
    assert.ok(
      got.readBacks! < got.iterations,
      `factored n=${n}: ${got.readBacks} read-backs for ${got.iterations} iterations`,
    );
    if (n > 512) {
      assert.ok(
        got.passes! > got.iterations + 10,
        `factored: ${got.passes} passes, ${got.iterations} iterations`,
      );
    }
  }
});

Deno.test("hybrid Batch-OMP stops on abort with a batch in flight, and the device goes on working", async () => {
  const { ompHybrid } = await import("../../src/selection/omp_hybrid.ts");
  const gpu = await testGpu();
  const [n, d, k] = [1200, 32, 60];
  const gv = problem(7, n, d);
  const g = tensor(gpu, gv, [n, d]);
  const cpu = { kind: "dense" as const, g: gv, n, d };
  try {
    for (const denseF16 of [false, true]) {
      const ctl = new AbortController();
      let seen = 0;
      // Aborted from the progress report: the next loop turn throws while the following batch (and, for the
      // f32 device, a speculative one) is submitted and its read-back pending.
      await assert.rejects(
        () =>
          ompHybrid(gpu, { kind: "dense", g }, cpu, {
            k,
            lambda: 0.5,
            denseF16,
            signal: ctl.signal,
            progress: (done) => {
              seen = done;
              if (done >= 20) ctl.abort("test");
            },
          }),
        CancelledError,
      );
      assert.ok(seen >= 20 && seen < k, `stopped at ${seen} of ${k}`);
      const ref = ompReference(gv, n, d, { k, lambda: 0.5 });
      const again = await ompHybrid(gpu, { kind: "dense", g }, cpu, { k, lambda: 0.5, denseF16 });
      assert.deepEqual(
        [...again.indices],
        [...ref.indices],
        `denseF16 ${denseF16}: a full run after the abort`,
      );
    }
  } finally {
    g.dispose();
  }
});
