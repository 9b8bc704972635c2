/** `deno task bench [name…]`: runs the named benchmarks (all when none is named). */
const BENCHES: Record<string, () => Promise<void>> = {
  kernels: async () => (await import("./kernels.ts")).main(),
  training: async () => (await import("./training.ts")).main(),
  selection: async () => (await import("./selection.ts")).main(),
  scaleout: async () => void await (await import("./scaleout.ts")).main(),
};

// Benchmark names are the arguments that are neither options nor the value of a "--json FILE" option.
const names = Deno.args.filter((a, i) => !a.startsWith("-") && Deno.args[i - 1] !== "--json");
for (const name of names.length ? names : ["kernels"]) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  await bench();
}
