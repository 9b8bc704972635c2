import assert from "node:assert/strict";
import { gatherRows } from "../../../src/gpu/ops/gather_rows.ts";
import { run } from "../../../src/gpu/step.ts";
import { tensor } from "../../../src/gpu/tensor.ts";
import { ShapeError } from "../../../src/errors.ts";
import { Rng, testGpu } from "../../ref.ts";

Deno.test("gather_rows: picks rows exactly, repeated and in any order, at awkward shapes", async () => {
  const gpu = await testGpu();
  const rng = new Rng(31);
  for (const [n, cols, m] of [[1, 1, 1], [7, 3, 12], [300, 65, 257], [1000, 1, 0], [5, 257, 3]]) {
    const xv = rng.normals(n * cols);
    const rows = Uint32Array.from({ length: m }, () => rng.int(n));
    const x = tensor(gpu, xv, [n, cols]);
    let out!: ReturnType<typeof gatherRows>;
    await run(gpu, "gather", (s) => (out = gatherRows(s, x, rows)));
    const got = await out.read();
    const want = new Float32Array(m * cols);
    rows.forEach((r, i) => want.set(xv.subarray(r * cols, (r + 1) * cols), i * cols));
    assert.deepEqual(got, want, `gather_rows n=${n} cols=${cols} m=${m}`);
    x.dispose();
    out.dispose();
  }
});

Deno.test("gather_rows: an out-of-range row is a ShapeError", async () => {
  const gpu = await testGpu();
  const x = tensor(gpu, new Float32Array(6), [3, 2]);
  await assert.rejects(
    () => run(gpu, "g", (s) => void gatherRows(s, x, new Uint32Array([0, 3]))),
    ShapeError,
  );
  x.dispose();
});
