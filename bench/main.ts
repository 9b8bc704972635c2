/** `deno task bench [name…]`: runs the named benchmarks (all when none is named). */
const BENCHES: Record<string, () => Promise<void>> = {
  kernels: async () => (await import("./kernels.ts")).main(),
  training: async () => (await import("./training.ts")).main(),
  selection: async () => (await import("./selection.ts")).main(),
  api: async () => (await import("./api.ts")).main(),
  scaleout: async () => void await (await import("./scaleout.ts")).main(),
};

// Options that take a value ("--json FILE"; "--json=FILE" works too): their values are not benchmark names.
const VALUE_OPTIONS = new Set([
  "--json",
  "--db",
  "--pg-url",
  "--duration",
  "--connections",
  "--members",
  "--page",
  "--subscribers",
  "--sse",
  "--events",
  "--interval",
  // selection
  "--part",
  "--seeds",
  "--epochs",
  "--budgets",
  "--strategies",
  "--limit",
  "--nfg-warm",
  "--record",
  // scaleout
  "--runs",
  "--latency",
  "--strategy",
  "--only",
]);
// Benchmark names are the arguments that are neither options nor an option's value.
const names = Deno.args.filter((a, i) => !a.startsWith("-") && !VALUE_OPTIONS.has(Deno.args[i - 1]));
for (const name of names.length ? names : ["kernels"]) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  await bench();
}
