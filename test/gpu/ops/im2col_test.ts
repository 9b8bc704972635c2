import assert from "node:assert/strict";
import { acquireGpu, type Gpu } from "../../../src/gpu/device.ts";
import { gpuWithLimits } from "./limits.ts";
import {
  col2im,
  col2imTolerance,
  encodeCol2im,
  encodeIm2col,
  im2col,
  IM2COL_TOLERANCE,
  type Im2colGeometry,
  im2colGeometry,
} from "../../../src/gpu/ops/im2col.ts";
import { matmul, matmulTolerance } from "../../../src/gpu/ops/matmul.ts";
import { run, type Step } from "../../../src/gpu/step.ts";
import { empty, type Tensor, tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { assertClose, maxAbs, randn, refMatmul, Rng, testGpu } from "../../ref.ts";

/** [B, H, W, Cin, k, pad]: 1-pixel images with padding, odd and even sides, k 1/3/5, pad 0/1/2. */
type Case = [number, number, number, number, number, number];
const CASES: Case[] = [
  [1, 1, 1, 1, 1, 0],
  [1, 1, 1, 3, 3, 1],
  [2, 1, 4, 1, 3, 1],
  [3, 1, 1, 6, 5, 2],
  [1, 5, 5, 1, 5, 0],
  [2, 7, 6, 3, 3, 0],
  [3, 6, 9, 6, 5, 2],
  [2, 8, 8, 3, 1, 2],
  [1, 13, 11, 6, 3, 1],
];

/** Seeded extra cases: B 1..3, H and W 1..12, Cin from {1, 3, 6}, k from {1, 3, 5}, pad 0..2. */
function randomCases(seed: number, count: number): Case[] {
  const rng = new Rng(seed);
  const out: Case[] = [];
  while (out.length < count) {
    const [k, pad] = [[1, 3, 5][rng.int(3)], rng.int(3)];
    const [h, w] = [1 + rng.int(12), 1 + rng.int(12)];
    if (h + 2 * pad < k || w + 2 * pad < k) continue;
    out.push([1 + rng.int(3), h, w, [1, 3, 6][rng.int(3)], k, pad]);
  }
  return out;
}

function geometry([b, h, w, cin, k, pad]: Case): Im2colGeometry {
  return im2colGeometry("test", [b, h, w, cin], { k, pad });
}

/** Float64 im2col as nested loops over (row, column) of the patch matrix. */
function refIm2col(x: ArrayLike<number>, g: Im2colGeometry): Float64Array {
  const kkc = g.k * g.k * g.cin;
  const out = new Float64Array(g.b * g.ho * g.wo * kkc);
  for (let b = 0; b < g.b; b++) {
    for (let ho = 0; ho < g.ho; ho++) {
      for (let wo = 0; wo < g.wo; wo++) {
        for (let ky = 0; ky < g.k; ky++) {
          for (let kx = 0; kx < g.k; kx++) {
            for (let ci = 0; ci < g.cin; ci++) {
              const [iy, ix] = [ho + ky - g.pad, wo + kx - g.pad];
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              const row = (b * g.ho + ho) * g.wo + wo;
              out[row * kkc + (ky * g.k + kx) * g.cin + ci] = inside
                ? x[((b * g.h + iy) * g.w + ix) * g.cin + ci]
                : 0;
            }
          }
        }
      }
    }
  }
  return out;
}

/** Float64 col2im in scatter form (the kernel gathers), so the two are written independently. */
function refCol2im(c: ArrayLike<number>, g: Im2colGeometry): Float64Array {
  const kkc = g.k * g.k * g.cin;
  const dx = new Float64Array(g.b * g.h * g.w * g.cin);
  for (let row = 0; row < g.b * g.ho * g.wo; row++) {
    const [b, ho, wo] = [Math.floor(row / (g.ho * g.wo)), Math.floor(row / g.wo) % g.ho, row % g.wo];
    for (let col = 0; col < kkc; col++) {
      const [ky, kx, ci] = [Math.floor(col / (g.k * g.cin)), Math.floor(col / g.cin) % g.k, col % g.cin];
      const [iy, ix] = [ho + ky - g.pad, wo + kx - g.pad];
      if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
        dx[((b * g.h + iy) * g.w + ix) * g.cin + ci] += c[row * kkc + col];
      }
    }
  }
  return dx;
}

/** Float64 direct NHWC convolution, stride 1, weights stored (k, k, Cin, Cout). */
function refConv(x: ArrayLike<number>, wt: ArrayLike<number>, g: Im2colGeometry, cout: number): Float64Array {
  const y = new Float64Array(g.b * g.ho * g.wo * cout);
  for (let b = 0; b < g.b; b++) {
    for (let ho = 0; ho < g.ho; ho++) {
      for (let wo = 0; wo < g.wo; wo++) {
        for (let co = 0; co < cout; co++) {
          let s = 0;
          for (let ky = 0; ky < g.k; ky++) {
            for (let kx = 0; kx < g.k; kx++) {
              const [iy, ix] = [ho + ky - g.pad, wo + kx - g.pad];
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (let ci = 0; ci < g.cin; ci++) {
                s += x[((b * g.h + iy) * g.w + ix) * g.cin + ci] *
                  wt[((ky * g.k + kx) * g.cin + ci) * cout + co];
              }
            }
          }
          y[((b * g.ho + ho) * g.wo + wo) * cout + co] = s;
        }
      }
    }
  }
  return y;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Runs one op in its own step and reads its output back. */
async function runOp(gpu: Gpu, record: (step: Step) => Tensor) {
  let out!: Tensor;
  await run(gpu, "im2col test", (step) => (out = record(step)));
  const data = await out.read();
  out.dispose();
  return data;
}

Deno.test("im2col matches float64 at awkward shapes (exact copy)", async () => {
  const gpu = await testGpu();
  let seed = 100;
  for (const c of [...CASES, ...randomCases(1, 8)]) {
    const g = geometry(c);
    const xv = randn(new Rng(seed), g.b * g.h * g.w * g.cin);
    const x = tensor(gpu, xv, [g.b, g.h, g.w, g.cin]);
    const got = await runOp(gpu, (s) => im2col(s, x, g));
    assertClose(`im2col case ${c} seed=${seed++}`, got, refIm2col(xv, g), IM2COL_TOLERANCE);
    x.dispose();
  }
});

Deno.test("col2im matches a float64 scatter reference at awkward shapes", async () => {
  const gpu = await testGpu();
  let seed = 200;
  for (const c of [...CASES, ...randomCases(2, 8)]) {
    const g = geometry(c);
    const cv = randn(new Rng(seed), g.b * g.ho * g.wo, g.k * g.k * g.cin);
    const dcols = tensor(gpu, cv, [g.b * g.ho * g.wo, g.k * g.k * g.cin]);
    const got = await runOp(gpu, (s) => col2im(s, dcols, { ...g, xShape: [g.b, g.h, g.w, g.cin] }));
    const want = refCol2im(cv, g);
    assertClose(`col2im case ${c} seed=${seed++}`, got, want, col2imTolerance(g.k), maxAbs(want));
    dcols.dispose();
  }
});

Deno.test("col2im is the adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩", async () => {
  const gpu = await testGpu();
  let seed = 300;
  for (const c of [...CASES, ...randomCases(3, 6)]) {
    const g = geometry(c);
    const rng = new Rng(seed);
    const xv = randn(rng, g.b * g.h * g.w * g.cin);
    const cv = randn(rng, g.b * g.ho * g.wo, g.k * g.k * g.cin);
    const x = tensor(gpu, xv, [g.b, g.h, g.w, g.cin]);
    const dcols = tensor(gpu, cv, [g.b * g.ho * g.wo, g.k * g.k * g.cin]);
    const lhs = dot(await runOp(gpu, (s) => im2col(s, x, g)), cv);
    const rhs = dot(xv, await runOp(gpu, (s) => col2im(s, dcols, { ...g, xShape: x.shape })));
    const rel = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), 1e-30);
    assert.ok(rel <= 1e-5, `adjoint case ${c} seed=${seed}: ${lhs} vs ${rhs} (relative ${rel})`);
    seed++;
    [x, dcols].forEach((t) => t.dispose());
  }
});

Deno.test("a convolution as im2col → matmul equals a direct NHWC convolution", async () => {
  const gpu = await testGpu();
  let seed = 400;
  for (
    const [c, cout] of [[[2, 7, 6, 3, 3, 1], 5], [[1, 1, 1, 6, 3, 1], 4], [[3, 9, 8, 1, 5, 2], 6]] as const
  ) {
    const g = geometry([...c]);
    const rng = new Rng(seed);
    const kkc = g.k * g.k * g.cin;
    const xv = randn(rng, g.b * g.h * g.w * g.cin);
    const wv = randn(rng, kkc, cout);
    const want = refConv(xv, wv, g, cout);
    // The float64 references agree among themselves: the layout is the same on paper ...
    assertClose(`conv refs case ${c}`, refMatmul(refIm2col(xv, g), wv, g.b * g.ho * g.wo, kkc, cout), want, {
      atol: 1e-12,
      rtol: 1e-12,
    });
    // ... and on the GPU, where y (B·Ho·Wo, Cout) is read as (B, Ho, Wo, Cout).
    const x = tensor(gpu, xv, [g.b, g.h, g.w, g.cin]);
    const wt = tensor(gpu, wv, [kkc, cout]);
    const got = await runOp(gpu, (s) => {
      const cols = im2col(s, x, g);
      s.release(cols);
      return matmul(s, cols, wt);
    });
    assertClose(`conv case ${c} cout=${cout} seed=${seed++}`, got, want, matmulTolerance(kkc), maxAbs(want));
    [x, wt].forEach((t) => t.dispose());
  }
});

Deno.test("im2col and col2im: an empty batch gives empty outputs", async () => {
  const gpu = await testGpu();
  const x = tensor(gpu, new Float32Array(0), [0, 5, 4, 3]);
  const cols = await runOp(gpu, (s) => im2col(s, x, { k: 3, pad: 1 }));
  assert.equal(cols.length, 0);
  const dcols = tensor(gpu, new Float32Array(0), [0, 27]);
  let dx!: Tensor;
  await run(gpu, "t", (s) => (dx = col2im(s, dcols, { k: 3, pad: 1, xShape: [0, 5, 4, 3] })));
  assert.deepEqual(dx.shape, [0, 5, 4, 3]);
  assert.equal((await dx.read()).length, 0);
  [x, dcols, dx].forEach((t) => t.dispose());
});

Deno.test("im2col and col2im: bad shapes give a ShapeError naming the kernel and shapes", async () => {
  const gpu = await testGpu();
  const x = empty(gpu, [2, 4, 4, 3]);
  const x3 = empty(gpu, [4, 4, 3]);
  const rejects = (what: RegExp, record: (s: Step) => void) =>
    assert.rejects(
      () => run(gpu, "t", record),
      (e: unknown) => e instanceof ShapeError && what.test(e.message),
    );
  await rejects(
    /im2col: the image must be 4-D.*\(4, 4, 3\)/,
    (s) => void im2col(s, x3, { k: 3 }),
  );
  await rejects(
    /im2col: the kernel is larger than the padded image.*\(2, 4, 4, 3\), k = 7/,
    (s) => void im2col(s, x, { k: 7, pad: 1 }),
  );
  await rejects(/im2col: k must be an integer/, (s) => void im2col(s, x, { k: 0 }));
  await rejects(/im2col: pad must be an integer/, (s) => void im2col(s, x, { k: 3, pad: -1 }));
  const cols = empty(gpu, [32, 27]);
  await rejects(
    /im2col: cols must have shape \(8, 27\), got \(32, 27\)/,
    (s) => encodeIm2col(s, x, cols, { k: 3 }),
  );
  await rejects(
    /col2im: dcols must have shape \(8, 27\), got \(32, 27\)/,
    (s) => encodeCol2im(s, cols, x, { k: 3 }),
  );
  await rejects(
    /col2im: H, W and Cin must be ≥ 1/,
    (s) => void col2im(s, cols, { k: 3, xShape: [2, 4, 4, 0] }),
  );
  [x, x3, cols].forEach((t) => t.dispose());
});

Deno.test("im2col and col2im: batches over the binding limit are split into whole images", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 16384 });
  try {
    // 4.5 KiB of cols per image, a multiple of the offset alignment: 3 images per 16 KiB chunk.
    const g = geometry([7, 8, 8, 2, 3, 1]);
    const rng = new Rng(11);
    const xv = randn(rng, g.b * g.h * g.w * g.cin);
    const cv = randn(rng, g.b * g.ho * g.wo, g.k * g.k * g.cin);
    const x = tensor(gpu, xv, [g.b, g.h, g.w, g.cin]);
    const dcols = tensor(gpu, cv, [g.b * g.ho * g.wo, g.k * g.k * g.cin]);
    let dispatches = 0;
    let cols!: Tensor;
    let dx!: Tensor;
    await run(gpu, "t", (s) => {
      cols = im2col(s, x, g);
      dx = col2im(s, dcols, { ...g, xShape: x.shape });
      dispatches = s.dispatches;
    });
    assert.ok(dispatches > 2, `expected a split, got ${dispatches} dispatches`);
    assertClose("im2col split", await cols.read(), refIm2col(xv, g), IM2COL_TOLERANCE);
    const want = refCol2im(cv, g);
    assertClose("col2im split", await dx.read(), want, col2imTolerance(g.k), maxAbs(want));
  } finally {
    gpu.destroy();
  }
});

Deno.test("im2col and col2im: past the workgroup limit per dimension the dispatch folds into 2-D", async () => {
  // With at most 4 workgroups per dimension (16 in all), each of these takes 2 to 4 rows of a folded
  // grid, the last row often partial: cols of 3888, 1296 and 1080 elements, dx of 1296 and 1080.
  const gpu = await gpuWithLimits({ maxWorkgroups: 4 });
  try {
    let seed = 600;
    for (const c of [[1, 9, 8, 6, 3, 1], [3, 12, 12, 3, 1, 0], [3, 3, 3, 40, 3, 0]] as Case[]) {
      const g = geometry(c);
      const rng = new Rng(seed);
      const xv = randn(rng, g.b * g.h * g.w * g.cin);
      const cv = randn(rng, g.b * g.ho * g.wo, g.k * g.k * g.cin);
      const x = tensor(gpu, xv, [g.b, g.h, g.w, g.cin]);
      const dcols = tensor(gpu, cv, [g.b * g.ho * g.wo, g.k * g.k * g.cin]);
      const cols = await runOp(gpu, (s) => im2col(s, x, g));
      assertClose(`im2col folded case ${c} seed=${seed}`, cols, refIm2col(xv, g), IM2COL_TOLERANCE);
      const dx = await runOp(gpu, (s) => col2im(s, dcols, { ...g, xShape: x.shape }));
      const want = refCol2im(cv, g);
      assertClose(`col2im folded case ${c} seed=${seed++}`, dx, want, col2imTolerance(g.k), maxAbs(want));
    }
  } finally {
    gpu.destroy();
  }
});

Deno.test("im2col: over 65535 workgroups the dispatch folds into 2-D on the device's real limit", async () => {
  // 4097² elements need 65571 workgroups of 256: two rows of the folded grid, the second partial.
  const gpu = await testGpu();
  const n = 4097 * 4097;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (i % 9973) - 4986;
  const x = tensor(gpu, v, [1, 4097, 4097, 1]);
  const cols = await runOp(gpu, (s) => im2col(s, x, { k: 1 })); // k = 1: cols is x, reshaped
  let wrong = 0;
  while (wrong < n && cols[wrong] === v[wrong]) wrong++;
  assert.equal(
    wrong,
    n,
    `im2col with k = 1 must copy x; element ${wrong} is ${cols[wrong]}, not ${v[wrong]}`,
  );
  x.dispose();
});
