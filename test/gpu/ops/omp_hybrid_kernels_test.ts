import assert from "node:assert/strict";
import * as omp from "../../../src/gpu/ops/omp.ts";
import { encodeMaskedArgmax } from "../../../src/gpu/ops/masked_argmax.ts";
import { Step } from "../../../src/gpu/step.ts";
import { tensor } from "../../../src/gpu/tensor.ts";
import { Rng, testGpu } from "../../ref.ts";

/** ⟨gᵢ, r⟩ in float64 for gᵢ = [eᵢ ⊗ hᵢ, bias·eᵢ], r laid out as [C × D, C]. */
function factoredDot(
  e: Float32Array,
  h: Float32Array,
  r: Float64Array,
  i: number,
  c: number,
  dh: number,
  bias: boolean,
) {
  let s = 0;
  for (let a = 0; a < c; a++) {
    let t = bias ? r[c * dh + a] : 0;
    for (let b = 0; b < dh; b++) t += h[i * dh + b] * r[a * dh + b];
    s += e[i * c + a] * t;
  }
  return s;
}

Deno.test("omp_factored_corr matches float64 within its rounding bound at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(11);
  for (
    const [n, c, dh, bias] of [[1, 1, 1, true], [7, 3, 13, true], [65, 10, 31, false], [
      130,
      5,
      64,
      true,
    ]] as const
  ) {
    const e = Float32Array.from(rng.normals(n * c));
    const h = Float32Array.from(rng.normals(n * dh), Math.abs);
    const r = Float64Array.from(rng.normals(c * dh + c));
    const cp = 4 * Math.ceil(c / 4);
    const np = 4 * Math.ceil(n / 4);
    const rt = new Float32Array((dh + 1) * cp);
    for (let a = 0; a < c; a++) {
      for (let b = 0; b < dh; b++) rt[b * cp + a] = r[a * dh + b];
      rt[dh * cp + a] = bias ? r[c * dh + a] : 0;
    }
    const ht = new Float32Array(dh * np);
    for (let i = 0; i < n; i++) for (let b = 0; b < dh; b++) ht[b * np + i] = h[i * dh + b];
    const [et, htT, rtT] = [tensor(gpu, e, [n, c]), tensor(gpu, ht, [dh, np]), tensor(gpu, rt, [rt.length])];
    const corr = tensor(gpu, new Float32Array(n), [n]);
    const step = new Step(gpu, "test");
    const p = { n, d: c, dh, cap: 1, slot: 0, k: 1, lambda: 0, bias: bias ? 1 : 0 };
    omp.encodeFactoredCorr(step, p, et, htT, rtT, corr);
    const got = step.readBack(corr);
    await step.submit();
    const out = await got;
    let rn = 0;
    for (let a = 0; a < c * dh + c; a++) if (bias || a < c * dh) rn += r[a] ** 2;
    for (let i = 0; i < n; i++) {
      const want = factoredDot(e, h, r, i, c, dh, bias);
      let en = 0;
      let hn = bias ? 1 : 0;
      for (let a = 0; a < c; a++) en += e[i * c + a] ** 2;
      for (let b = 0; b < dh; b++) hn += h[i * dh + b] ** 2;
      const bound = 1.05 * (c + dh + 4) * 2 ** -24 * Math.sqrt(en * hn * rn);
      assert.ok(
        Math.abs(out[i] - want) <= bound,
        `n=${n} C=${c} D=${dh} row ${i}: ${out[i]} vs ${want} (bound ${bound})`,
      );
    }
    [et, htT, rtT, corr].forEach((t) => t.dispose());
  }
});

Deno.test("omp_collect: the window holds every row within the bound of the winner; the pool is a top set", async () => {
  const gpu = await testGpu();
  const rng = new Rng(5);
  const layout = { window: 128, pool: 256 };
  const stride = omp.collectStride(layout);
  for (const [n, slack, scale] of [[1000, 1e-3, 4], [777, 0.05, 32], [300, 0, 1]] as const) {
    const v = Float32Array.from(rng.normals(n));
    for (let i = 0; i < 20; i++) v[rng.int(n)] = v[0]; // ties with a row
    const norms = Float32Array.from({ length: n }, () => 0.5 + rng.next());
    const mask = Uint32Array.from({ length: n }, () => (rng.next() < 0.1 ? 1 : 0));
    const [vt, mt, nt] = [tensor(gpu, v, [n]), tensor(gpu, mask, [n]), tensor(gpu, norms, [n])];
    const pick = tensor(gpu, new Uint32Array(2), [2]);
    const out = tensor(gpu, new Uint32Array(2 * stride), [2 * stride]);
    const step = new Step(gpu, "test");
    encodeMaskedArgmax(step, vt, mt, pick, { positiveOnly: true });
    step.copy(pick, out, 8, 0, 4 * stride);
    omp.encodeCollect(step, layout, { n, base: stride, slack, scale }, {
      corr: vt,
      mask: mt,
      norms: nt,
      out,
    });
    const read = step.readBack(out);
    await step.submit();
    const w = (await read).subarray(stride);
    const j = w[0];
    let best = -1;
    for (let i = 0; i < n; i++) if (!mask[i] && v[i] > 0 && (best < 0 || v[i] > v[best])) best = i;
    assert.equal(j, best);
    const least = v[j] - slack * norms[j];
    const windowWant = [...Array(n).keys()].filter((i) =>
      !mask[i] && v[i] + slack * norms[i] > 0 && v[i] + slack * norms[i] >= least
    );
    assert.equal(w[2], windowWant.length, `n=${n}: window count`);
    if (windowWant.length <= layout.window) {
      assert.deepEqual([...w.subarray(4, 4 + w[2])].sort((a, b) => a - b), windowWant, `n=${n}: window rows`);
    }
    const pool = [...w.subarray(4 + layout.window, 4 + layout.window + Math.min(w[3], layout.pool))];
    assert.ok(w[3] <= layout.pool && w[3] > 0, `n=${n}: pool of ${w[3]}`);
    const lowest = Math.min(...pool.map((i) => v[i]));
    const above = [...Array(n).keys()].filter((i) => !mask[i] && v[i] > lowest);
    assert.ok(
      above.every((i) => pool.includes(i)),
      `n=${n}: every row above the pool's lowest value is in it`,
    );
    assert.ok(pool.every((i) => !mask[i] && v[i] > 0));
    [vt, mt, nt, pick, out].forEach((t) => t.dispose());
  }
});

Deno.test("Step.readBack returns the step's result with one submit, also after flush(); an abandoned step's read-back rejects", async () => {
  const gpu = await testGpu();
  const src = tensor(gpu, Float32Array.from([1, 2, 3]), [3]);
  const dst = tensor(gpu, new Float32Array(3), [3]);
  const step = new Step(gpu, "copy");
  step.copy(src, dst);
  const read = step.readBack(dst);
  await step.submit();
  assert.deepEqual([...await read], [1, 2, 3]);
  // flush() sends the first copy ahead; the step's later work and read-back see its result.
  const mid = tensor(gpu, new Float32Array(3), [3]);
  const two = new Step(gpu, "two parts");
  two.copy(src, mid);
  two.flush();
  two.copy(mid, dst, 8, 0, 4);
  const read2 = two.readBack(dst);
  await two.submit();
  assert.deepEqual([...await read2], [1, 1, 2]);
  mid.dispose();
  const dropped = new Step(gpu, "dropped");
  const never = dropped.readBack(dst);
  await dropped.abandon();
  await assert.rejects(never, /abandoned/);
  [src, dst].forEach((t) => t.dispose());
});

Deno.test("omp_rowdot_f16_batch matches float64 on the f16 rows for every column, with the masked levels; omp_batch_argmax finds each column's winner", async () => {
  const gpu = await testGpu();
  const rng = new Rng(23);
  const MASKED = Math.fround(-3.4028234e38); // −FLT_MAX
  let ties = 0; // columns won by row 0 with its copy, row n − 1, unmasked
  // n: 1, a prime, not a multiple of the 64-row workgroup; d: 1, not a multiple of 8; columns: 1 and 3
  // (one slice of 4), 8 (one of 8), 9, 12, 17 (slices of 8, then one of 4), 30 (the last slice of 8
  // holding 6).
  for (
    const [n, d, cols] of [[1, 1, 1], [7, 5, 3], [67, 45, 9], [300, 64, 17], [33, 3, 8], [40, 9, 12], [
      5,
      8,
      30,
    ]] as const
  ) {
    const q = Math.ceil(d / 8);
    const np = omp.rowdotF16BatchRows(n);
    // Halves without subnormals, as the caller flushes them.
    const g = Float16Array.from(rng.normals(n * d), (v) => (Math.abs(v) < 2 ** -14 ? 0 : v));
    // An exact tie: the last row repeats the first, so where both are unmasked and win, the first must.
    if (n > 2) g.copyWithin((n - 1) * d, 0, d);
    const h16 = new Float16Array(q * np * 8);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) h16[((c >> 3) * np + i) * 8 + (c & 7)] = g[i * d + c];
    }
    const xcap = 8 * Math.ceil(cols / 8);
    const x = new Float32Array(xcap * 8 * q).fill(NaN); // columns past `cols` must not reach the output
    for (let m = 0; m < cols; m++) {
      x.fill(0, m * 8 * q, (m + 1) * 8 * q);
      for (let c = 0; c < d; c++) x[m * 8 * q + c] = rng.normal();
    }
    const lvl = Uint32Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : 1 + rng.int(cols + 1)));
    const t = {
      g16: tensor(gpu, new Uint32Array(h16.buffer), [h16.length / 2]),
      x: tensor(gpu, x, [x.length]),
      lvl: tensor(gpu, lvl, [n]),
      corr: tensor(gpu, new Float32Array(cols * np).fill(7), [cols * np]),
      best: tensor(gpu, new Uint32Array(cols * omp.rowdotF16BatchLanes(n) * 2).fill(7), [
        cols * omp.rowdotF16BatchLanes(n) * 2,
      ]),
      rec: tensor(gpu, new Uint32Array(cols * 5).fill(7), [cols * 5]),
    };
    const step = new Step(gpu, "test");
    omp.encodeRowdotF16Batch(step, { n, q, cols }, t);
    omp.encodeBatchArgmax(step, { n, cols, stride: 5 }, { best: t.best, out: t.rec });
    const read = step.readBack(t.corr);
    const readRec = step.readBack(t.rec);
    await step.submit();
    const out = await read;
    const rec = await readRec;
    for (let m = 0; m < cols; m++) {
      // The winner over the kernel's own f32 output: largest positive value, first row on ties.
      let win = -1;
      for (let i = 0; i < n; i++) {
        if (out[m * np + i] > 0 && (win < 0 || out[m * np + i] > out[m * np + win])) win = i;
      }
      const what = `n=${n} d=${d} cols=${cols} column ${m}`;
      assert.equal(rec[m * 5], win < 0 ? 0xffffffff : win, `${what}: winner`);
      if (win === 0 && n > 2 && out[m * np + n - 1] === out[m * np]) ties++;
      const bits = new Uint32Array(Float32Array.of(win < 0 ? 0 : out[m * np + win]).buffer)[0];
      assert.equal(rec[m * 5 + 1], bits, `${what}: winner's value bits`);
      assert.equal(rec[m * 5 + 2], 7, `${what}: words past the winner untouched`);
    }
    for (let m = 0; m < cols; m++) {
      for (let i = 0; i < n; i++) {
        const got = out[m * np + i];
        const what = `n=${n} d=${d} cols=${cols} column ${m} row ${i} (lvl ${lvl[i]})`;
        if (lvl[i] !== 0 && m + 1 >= lvl[i]) {
          assert.equal(got, MASKED, what);
          continue;
        }
        let want = 0;
        let abs = 0;
        for (let c = 0; c < d; c++) {
          want += g[i * d + c] * x[m * 8 * q + c];
          abs += Math.abs(g[i * d + c] * x[m * 8 * q + c]);
        }
        const bound = 1.05 * (8 * q + 4) * 2 ** -24 * abs;
        assert.ok(Math.abs(got - want) <= bound, `${what}: ${got} vs ${want} (bound ${bound})`);
      }
    }
    Object.values(t).forEach((v) => v.dispose());
  }
  assert.ok(ties > 0, "no column exercised a tie");
});
