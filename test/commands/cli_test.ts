/** The command line as a user runs it: a subprocess of src/cli.ts. */
import assert from "node:assert/strict";
import { writeNpy } from "../../src/data/npy.ts";
import { Rng } from "../../src/util/rng.ts";

const CLI = new URL("../../src/cli.ts", import.meta.url).pathname;

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("gradsift gpu-info --json prints one JSON object with adapter, backend and limits", async () => {
  const r = await cli(["gpu-info", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.ok(info.description && info.backend && info.limits.maxStorageBufferBindingSize > 0);
});

Deno.test("gradsift select: a user's .npy gradients → subset JSON with the objective; bad input is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  const rng = new Rng(5);
  const [n, d] = [300, 24];
  const g = rng.normals(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) g[i * d + c] += 0.5;
  await writeNpy(`${dir}/G.npy`, g, [n, d]);
  await writeNpy(`${dir}/y.npy`, Int32Array.from({ length: n }, (_, i) => i % 3), [n]);
  const r = await cli([
    "select",
    "--input",
    `${dir}/G.npy`,
    "--strategy",
    "gradmatch",
    "--budget",
    "0.1",
    "--out",
    `${dir}/s.json`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(await Deno.readTextFile(`${dir}/s.json`));
  assert.equal(s.indices.length, 30);
  assert.equal(s.weights.length, 30);
  assert.ok(s.objective > 0 && s.objective < 1, `objective ${s.objective}`);
  assert.ok(s.seconds > 0);
  const pc = await cli([
    "select",
    "--input",
    `${dir}/G.npy`,
    "--labels",
    `${dir}/y.npy`,
    "--per-class",
    "--budget",
    "45",
    "--out",
    `${dir}/p.json`,
  ]);
  assert.equal(pc.code, 0, pc.stderr);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/p.json`)).indices.length, 45);
  const noLabels = await cli([
    "select",
    "--input",
    `${dir}/G.npy`,
    "--per-class",
    "--budget",
    "5",
    "--out",
    `${dir}/x.json`,
  ]);
  assert.equal(noLabels.code, 1);
  assert.match(noLabels.stderr, /--labels is required/);
  const badBudget = await cli([
    "select",
    "--input",
    `${dir}/G.npy`,
    "--budget",
    "301",
    "--out",
    `${dir}/x.json`,
  ]);
  assert.match(badBudget.stderr, /exceeds the 300 samples/);
  await Deno.writeTextFile(`${dir}/bad.npy`, "not numpy");
  const bad = await cli(["select", "--input", `${dir}/bad.npy`, "--budget", "5", "--out", `${dir}/x.json`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.npy/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("gradsift train --json on a built-in blob dataset prints epoch lines and a summary", async () => {
  const dir = await Deno.makeTempDir();
  const r = await cli(
    [
      "train",
      "--dataset",
      "blobs-300-8-3-1",
      "--epochs",
      "2",
      "--strategy",
      "craig",
      "--budget",
      "0.2",
      "--select-every",
      "1",
      "--json",
    ],
    { GRADSIFT_DATA: dir },
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((l) => l.type === "epoch").map((l) => l.epoch), [1, 2]);
  assert.equal(lines.filter((l) => l.type === "subset").length, 2);
  const summary = lines.at(-1);
  assert.equal(summary.type, "summary");
  assert.ok(summary.testAccuracy > 0.5 && summary.epochs === 2);
  const unknown = await cli(["train", "--dataset", "nope"], { GRADSIFT_DATA: dir });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /nope/);
  await Deno.remove(dir, { recursive: true });
});
