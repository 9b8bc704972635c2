/**
 * Packing of kernel `Params` uniform structs. Every gradsift Params struct holds only 4-byte scalars
 * (u32, i32, f32), so WGSL lays them out back to back; the struct's size rounds up to its alignment
 * (4), and a uniform binding is rounded up to 16 bytes, which is what `packParams` returns.
 */

/** Scalar kinds a Params field may have. */
export type ScalarKind = "u32" | "i32" | "f32";

/** A Params struct as data: field names in declaration order, with their kinds. */
export type ParamsLayout = readonly (readonly [name: string, kind: ScalarKind])[];

/** Byte size of a Params struct as bound (16-byte rounded). */
export function paramsSize(layout: ParamsLayout): number {
  return Math.max(16, Math.ceil((layout.length * 4) / 16) * 16);
}

/** Packs `values` into a buffer laid out as `layout`; missing or non-finite values throw. */
export function packParams(layout: ParamsLayout, values: Record<string, number>): ArrayBuffer {
  const buf = new ArrayBuffer(paramsSize(layout));
  const view = new DataView(buf);
  layout.forEach(([name, kind], i) => {
    const v = values[name];
    if (v === undefined || !Number.isFinite(v)) {
      throw new Error(`Params.${name}: ${v} is not a finite number`);
    }
    if (kind === "f32") view.setFloat32(i * 4, v, true);
    else if (kind === "u32") {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new Error(`Params.${name}: ${v} is not a u32`);
      }
      view.setUint32(i * 4, v, true);
    } else view.setInt32(i * 4, v, true);
  });
  return buf;
}
