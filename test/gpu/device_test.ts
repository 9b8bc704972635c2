import assert from "node:assert/strict";
import { acquireGpu } from "../../src/gpu/device.ts";
import { GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from "../../src/gpu/errors.ts";
import { bucketSize } from "../../src/gpu/pool.ts";
import { pipelineKey } from "../../src/gpu/pipelines.ts";
import { run, Step } from "../../src/gpu/step.ts";
import { empty, tensor } from "../../src/gpu/tensor.ts";
import { encodeMatmul, MATMUL } from "../../src/gpu/ops/matmul.ts";
import { testGpu } from "../ref.ts";

Deno.test("adapter info names the adapter, backend, features and limits", async () => {
  const gpu = await testGpu();
  const info = gpu.info();
  assert.ok(info.description.length > 0);
  assert.ok(info.backend.length > 0);
  assert.ok(info.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20);
  assert.ok(Array.isArray(info.features));
});

Deno.test("a buffer over maxBufferSize is a GpuOutOfMemoryError, not a crash", async () => {
  const gpu = await testGpu();
  assert.throws(
    () => empty(gpu, [2 ** 31, 4], "f32", "huge"),
    (e: unknown) =>
      e instanceof GpuOutOfMemoryError && /huge/.test(e.message) && /maxBufferSize/.test(e.message),
  );
  // The device is still usable afterwards.
  const t = tensor(gpu, new Float32Array([1, 2, 3]));
  assert.deepEqual([...await t.read()], [1, 2, 3]);
  t.dispose();
});

Deno.test("a binding over the storage binding limit is a typed error naming the kernel", async () => {
  const gpu = await acquireGpu({ maxBindingBytes: 1024 });
  try {
    // Aᵀ·B cannot be split by rows of A, so a large A must be refused with a typed error.
    const a = empty(gpu, [600, 2]);
    const b = empty(gpu, [600, 2]);
    const c = empty(gpu, [2, 2]);
    await assert.rejects(
      () => run(gpu, "too wide", (s) => encodeMatmul(s, a, b, c, { transA: true })),
      (e: unknown) =>
        e instanceof GpuOutOfMemoryError && /matmul/.test(e.message) && /binding limit/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});

Deno.test("a WebGPU validation error surfaces as GpuValidationError from submit()", async () => {
  const gpu = await testGpu();
  const bad = {
    name: "broken",
    code: "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }",
    bindings: [],
  };
  const step = new Step(gpu, "broken step");
  step.dispatch(bad, {}, null, [], [1]);
  await assert.rejects(
    () => step.submit(),
    (e: unknown) => e instanceof GpuValidationError && /broken step/.test(e.message),
  );
  // The device survives a validation error.
  const t = tensor(gpu, new Float32Array([4]));
  assert.deepEqual([...await t.read()], [4]);
  t.dispose();
});

Deno.test("a submitted step's error scopes are off the stack at once, so a next step may overlap it", async () => {
  const gpu = await testGpu();
  const src = tensor(gpu, new Float32Array([1, 2, 3, 4]));
  const dst = empty(gpu, [4]);
  const first = new Step(gpu, "first");
  first.copy(src, dst);
  const submitted = first.submit(); // not awaited: the hybrid OMP records its next batch meanwhile
  // Both of the first step's scopes were popped before its first await: the stack is empty now.
  await assert.rejects(
    () => gpu.device.popErrorScope(),
    (e: unknown) => (e as Error).name === "OperationError",
  );
  const second = new Step(gpu, "second step");
  second.dispatch(
    {
      name: "broken",
      code: "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }",
      bindings: [],
    },
    {},
    null,
    [],
    [1],
  );
  const failed = second.submit();
  await submitted; // the second step's error is not the first's
  await assert.rejects(
    () => failed,
    (e: unknown) => e instanceof GpuValidationError && /second step/.test(e.message),
  );
  assert.deepEqual([...await dst.read()], [1, 2, 3, 4]);
  [src, dst].forEach((t) => t.dispose());
});

Deno.test("after device loss every call is a GpuDeviceLostError", async () => {
  const gpu = await acquireGpu();
  gpu.device.destroy();
  await gpu.device.lost;
  assert.ok(gpu.lost);
  assert.throws(() => empty(gpu, [4]), GpuDeviceLostError);
  assert.throws(() => new Step(gpu, "after loss"), GpuDeviceLostError);
});

Deno.test("buffer pool reuses released buffers of the same bucket", async () => {
  const gpu = await testGpu();
  const a = empty(gpu, [1200]);
  const buf = a.buffer;
  a.dispose();
  const b = empty(gpu, [1100]); // 4400 and 4800 bytes share the 5120-byte bucket
  assert.equal(b.buffer, buf);
  b.dispose();
  for (const n of [0, 1, 15, 16, 17, 4096, 4097, 1e6, 123457]) {
    const s = bucketSize(n);
    assert.ok(s >= n && s >= 16 && s % 16 === 0, `bucket ${s} for ${n}`);
    assert.ok(n <= 4096 || s <= n * 1.25, `bucket ${s} wastes more than 25% of ${n}`);
  }
});

Deno.test("pipeline cache keys by kernel and sorted constants, and builds once", async () => {
  const gpu = await testGpu();
  assert.equal(
    pipelineKey(MATMUL, { TRANS_B: true, TRANS_A: false }),
    "matmul:main{TRANS_A=false,TRANS_B=true}",
  );
  const p1 = gpu.pipelines.get(MATMUL, { TRANS_A: true, TRANS_B: false });
  const size = gpu.pipelines.size;
  const p2 = gpu.pipelines.get(MATMUL, { TRANS_B: false, TRANS_A: true });
  assert.equal(p1, p2);
  assert.equal(gpu.pipelines.size, size);
});

Deno.test("tensors: shape checks on write, reshape views share the buffer", async () => {
  const gpu = await testGpu();
  const t = tensor(gpu, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.throws(() => t.write(new Float32Array(5)), /write of 5 elements/);
  const v = t.reshape([3, 2]);
  assert.equal(v.buffer, t.buffer);
  v.dispose(); // a view does not release the owner's buffer
  assert.deepEqual([...await t.read()], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => t.reshape([4]), /cannot reshape/);
  t.dispose();
  assert.throws(() => t.buffer, /after dispose/);
});

Deno.test("tensors: readWith hands over the values read (also empty, u32) and its result; read copies", async () => {
  const gpu = await testGpu();
  const values = Float32Array.from({ length: 1027 }, (_, i) => i * 0.5 - 7);
  const t = tensor(gpu, values, [1027]);
  const sum = await t.readWith((v) => {
    assert.ok(v instanceof Float32Array);
    assert.deepEqual([...v], [...values]);
    return v.reduce((a, b) => a + b, 0);
  });
  assert.equal(sum, values.reduce((a, b) => a + b, 0));
  const u = tensor(gpu, Uint32Array.of(3, 1, 4), [3]);
  assert.deepEqual(await u.readWith((v) => [...v]), [3, 1, 4]);
  const e = empty(gpu, [0], "f32");
  assert.equal(await e.readWith((v) => v.length), 0);
  // read() returns a copy that outlives the mapping and a later write.
  const copy = await t.read();
  t.write(new Float32Array(1027));
  assert.equal(copy[1026], values[1026]);
  [t, u, e].forEach((x) => x.dispose());
});
