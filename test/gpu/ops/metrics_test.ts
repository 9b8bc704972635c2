import assert from "node:assert/strict";
import { encodeMetrics } from "../../../src/gpu/ops/metrics.ts";
import { run } from "../../../src/gpu/step.ts";
import { tensor } from "../../../src/gpu/tensor.ts";
import { assertClose, Rng, testGpu } from "../../ref.ts";

Deno.test("metrics: accumulates loss, correct count (first max on ties), n and weights over batches", async () => {
  const gpu = await testGpu();
  const rng = new Rng(9);
  const acc = tensor(gpu, new Float32Array(4));
  const want = [0, 0, 0, 0];
  for (const [n, c] of [[1, 1], [7, 3], [257, 10], [600, 10], [0, 10]]) {
    const logits = rng.normals(n * c);
    // Force ties in some rows: the first maximum must win.
    for (let i = 0; i < n; i += 5) if (c > 1) logits[i * c + 1] = logits[i * c];
    const labels = new Uint32Array(n).map(() => rng.int(c));
    const loss = rng.normals(n);
    const weights = new Float32Array(n).map(() => rng.next());
    const t = {
      loss: tensor(gpu, loss),
      logits: tensor(gpu, logits, [n, c]),
      labels: tensor(gpu, labels),
      weights: tensor(gpu, weights),
    };
    await run(gpu, "metrics", (s) => encodeMetrics(s, t, acc));
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (logits[i * c + j] > logits[i * c + best]) best = j;
      want[0] += loss[i];
      want[1] += best === labels[i] ? 1 : 0;
      want[2] += 1;
      want[3] += weights[i];
    }
    Object.values(t).forEach((x) => x.dispose());
  }
  const got = await acc.read();
  assertClose(
    "metrics loss/weights",
    [got[0], got[3]],
    [want[0], want[3]],
    { atol: 1e-4, rtol: 1e-5 },
    Math.sqrt(want[2]),
  );
  assert.equal(got[1], want[1]);
  assert.equal(got[2], want[2]);
  acc.dispose();
});
