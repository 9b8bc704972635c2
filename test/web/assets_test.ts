/**
 * The committed dashboard assets (web/dist/) are what `deno task web:build` makes from the sources:
 * rebuilt into a temporary directory and compared byte for byte, like the printed schema's drift test.
 */
import assert from "node:assert/strict";

Deno.test("web/dist is up to date with web/src (run `deno task web:build`)", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const out = await Deno.makeTempDir({ prefix: "gradsift-web-build-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "web/build.ts", "--out", out],
      cwd: root,
      stdout: "null",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    for (const f of ["app.js", "app.css"]) {
      const [built, committed] = await Promise.all([
        Deno.readFile(`${out}/${f}`),
        Deno.readFile(`${root}web/dist/${f}`),
      ]);
      assert.ok(built.length > 1000, f);
      assert.ok(
        built.length === committed.length && built.every((b, i) => b === committed[i]),
        `web/dist/${f} differs from a fresh build: run \`deno task web:build\` and commit web/dist`,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
