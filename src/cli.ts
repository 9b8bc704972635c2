/**
 * gradsift command line: `gradsift <command> [options]`. The `gradsift` launcher at the repository root
 * installs what is missing and runs this file; `test`, `bench` and `check` are handled by the launcher
 * as `deno task` runs.
 */
import { parseArgs } from "node:util";
import { GradsiftError } from "./errors.ts";

const USAGE = `gradsift — coreset selection on WebGPU

usage: gradsift <command> [options]

commands:
  serve [--port N]   start the GraphQL service (default port 4000; --host, --cors a,b, --concurrency N,
                     --no-worker for an API-only process, --no-import to skip importing Fashion-MNIST,
                     --heartbeat S, --retries N: see gradsift worker --help)
  worker             a GPU worker for a shared PostgreSQL (DATABASE_URL; gradsift worker --help)
  gpu-info [--json]  print the WebGPU adapter, backend, features and limits
  train [options]    train a model, with or without selection (gradsift train --help)
  select [options]   select a subset from your own gradient matrix (gradsift select --help)
  test               run every test (type-check, lint and format check included)
  bench [name]       run the benchmarks (name: kernels)
  check              type-check, lint and format-check the sources
  help               this text
`;

type Command = (args: string[]) => Promise<number>;

// Each command's module is loaded when it runs: `select`, `train` and `gpu-info` never load the GraphQL
// server or the database drivers (their npm packages need not even be installed for them).
const COMMANDS: Record<string, Command> = {
  "gpu-info": gpuInfo,
  serve: async (args) => (await import("./commands/serve.ts")).serveCommand(args),
  worker: async (args) => (await import("./commands/worker.ts")).workerCommand(args),
  train: async (args) => (await import("./commands/train.ts")).trainCommand(args),
  select: async (args) => (await import("./commands/select.ts")).selectCommand(args),
  help: () => {
    console.log(USAGE);
    return Promise.resolve(0);
  },
};

async function gpuInfo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const [{ acquireGpu }, { gpuInfoText }] = await Promise.all([
    import("./gpu/device.ts"),
    import("./gpu/info.ts"),
  ]);
  const gpu = await acquireGpu();
  try {
    const info = gpu.info();
    console.log(values.json ? JSON.stringify(info) : gpuInfoText(info));
  } finally {
    gpu.destroy();
  }
  return 0;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name = "help", ...rest] = argv;
  const command = COMMANDS[name === "--help" || name === "-h" ? "help" : name];
  if (!command) {
    console.error(`gradsift: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (e) {
    if (e instanceof GradsiftError) {
      console.error(`gradsift ${name}: ${e.message} [${e.code}]`);
      return 1;
    }
    if (e instanceof TypeError && /parseArgs|Unknown option|unexpected argument/i.test(String(e))) {
      console.error(`gradsift ${name}: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
