import assert from "node:assert/strict";
import { unroll } from "../../src/gpu/unroll.ts";

Deno.test("unroll writes each block out count times, nested, with named and literal counts", () => {
  const code = [
    "fn f() {",
    "  //#unroll r RB",
    "  var a${r} = 0.0;",
    "  //#unroll m 2",
    "  let x${r}_${m} = ${m}u + ${r}u;",
    "  //#end",
    "  //#end",
    "}",
  ].join("\n");
  assert.equal(
    unroll(code, { RB: 3 }),
    [
      "fn f() {",
      "  var a0 = 0.0;",
      "  let x0_0 = 0u + 0u;",
      "  let x0_1 = 1u + 0u;",
      "  var a1 = 0.0;",
      "  let x1_0 = 0u + 1u;",
      "  let x1_1 = 1u + 1u;",
      "  var a2 = 0.0;",
      "  let x2_0 = 0u + 2u;",
      "  let x2_1 = 1u + 2u;",
      "}",
    ].join("\n"),
  );
  assert.equal(unroll("a\n//#unroll i 0\nb${i}\n//#end\nc"), "a\nc", "a count of 0 drops the block");
  assert.equal(unroll("no directives ${r}"), "no directives ${r}", "text outside blocks is left alone");
});

Deno.test("unroll rejects unknown counts and unbalanced blocks, naming the line", () => {
  assert.throws(() => unroll("x\n//#unroll r RB\ny\n//#end"), /line 2: unknown count RB/);
  assert.throws(() => unroll("//#unroll r 2\ny"), /line 1: \/\/#unroll r has no \/\/#end/);
  assert.throws(() => unroll("y\n//#end"), /line 2: \/\/#end without \/\/#unroll/);
});
