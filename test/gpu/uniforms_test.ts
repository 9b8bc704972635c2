import assert from "node:assert/strict";
import { packParams, type ParamsLayout, paramsSize } from "../../src/gpu/uniforms.ts";
import { ALL_KERNELS } from "../../src/gpu/ops/mod.ts";

/** Fields of `struct Params { … }` in a WGSL source, as [name, type]. */
function wgslParams(code: string): [string, string][] {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(code);
  if (!m) return [];
  return m[1].split("\n").map((l) => l.replace(/\/\/.*$/, "").trim()).filter(Boolean).flatMap((l) =>
    l.split(",").map((f) => f.trim()).filter(Boolean).map((f) =>
      f.split(":").map((s) => s.trim()) as [string, string]
    )
  );
}

/** WGSL size of a struct of 4-byte scalars: fields back to back, size rounded to the alignment (4). */
function wgslStructSize(fields: [string, string][]): number {
  return fields.length * 4;
}

Deno.test("every kernel's ParamsLayout mirrors its WGSL struct Params field by field", () => {
  for (const { spec, params } of ALL_KERNELS) {
    const fields = wgslParams(spec.code);
    if (!params) {
      assert.equal(fields.length, 0, `${spec.name}: WGSL declares Params but the wrapper has no layout`);
      continue;
    }
    assert.deepEqual(
      params.map(([n, k]) => [n, k]),
      fields,
      `${spec.name}: Params layout drifted from the WGSL`,
    );
    assert.ok(paramsSize(params) >= wgslStructSize(fields), `${spec.name}: bound size below the struct size`);
    assert.equal(paramsSize(params) % 16, 0, `${spec.name}: uniform size must be a multiple of 16`);
  }
});

Deno.test("packParams writes little-endian scalars in order and rejects bad values", () => {
  const layout: ParamsLayout = [["n", "u32"], ["x", "f32"], ["s", "i32"]];
  const buf = packParams(layout, { n: 7, x: 0.5, s: -3 });
  assert.equal(buf.byteLength, 16);
  const v = new DataView(buf);
  assert.equal(v.getUint32(0, true), 7);
  assert.equal(v.getFloat32(4, true), 0.5);
  assert.equal(v.getInt32(8, true), -3);
  assert.throws(() => packParams(layout, { n: -1, x: 0, s: 0 }), /not a u32/);
  assert.throws(() => packParams(layout, { n: 1, x: NaN, s: 0 }), /finite/);
  assert.throws(() => packParams(layout, { n: 1, s: 0 }), /Params.x/);
});
