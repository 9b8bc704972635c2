/** `deno task bench [name…]`: runs the named benchmarks (all when none is named). */
const BENCHES: Record<string, () => Promise<void>> = {
  kernels: async () => (await import("./kernels.ts")).main(),
  training: async () => (await import("./training.ts")).main(),
  selection: async () => (await import("./selection.ts")).main(),
};

const names = Deno.args.filter((a) => !a.startsWith("-"));
for (const name of names.length ? names : ["kernels"]) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  await bench();
}
