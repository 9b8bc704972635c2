/**
 * Builds the dashboard's assets into web/dist/ (committed, so `gradsift serve` needs no build step):
 * app.js — web/src/main.ts bundled and minified by `deno bundle` (esbuild inside Deno; npm packages
 * pinned in deno.json and deno.lock), and app.css — web/style.css followed by uPlot's stylesheet.
 * Same Deno, same lockfile, same sources: the same bytes (test/web/assets_test.ts checks it).
 *
 *   deno task web:build            writes web/dist/
 *   deno task web:build --out DIR  writes DIR instead (the drift test builds into a temp dir)
 */
const root = new URL("..", import.meta.url).pathname;
const outArg = Deno.args.indexOf("--out");
const out = outArg >= 0 ? Deno.args[outArg + 1] : `${root}web/dist`;

await Deno.mkdir(out, { recursive: true });
const bundle = await new Deno.Command(Deno.execPath(), {
  args: [
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--minify",
    "--output",
    `${out}/app.js`,
    "web/src/main.ts",
  ],
  cwd: root,
  env: { NO_COLOR: "1" },
}).output();
if (!bundle.success) {
  console.error(new TextDecoder().decode(bundle.stderr));
  Deno.exit(1);
}
const css = [
  await Deno.readTextFile(`${root}web/style.css`),
  "/* uPlot 1.6.32, MIT licence: node_modules/uplot/dist/uPlot.min.css */",
  await Deno.readTextFile(`${root}node_modules/uplot/dist/uPlot.min.css`),
].join("\n");
await Deno.writeTextFile(`${out}/app.css`, css.endsWith("\n") ? css : css + "\n");
for (const f of ["app.js", "app.css"]) {
  console.log(`${out}/${f}: ${(await Deno.stat(`${out}/${f}`)).size} bytes`);
}
