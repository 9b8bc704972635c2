/**
 * gradsift command line: `gradsift <command> [options]`. The `gradsift` launcher at the repository root
 * installs what is missing and runs this file; `test`, `bench` and `check` are handled by the launcher
 * as `deno task` runs.
 */
import { parseArgs } from "node:util";
import { GradsiftError } from "./errors.ts";
import { acquireGpu } from "./gpu/device.ts";
import { gpuInfoText, kernelDemo } from "./gpu/info.ts";
import { trainCommand } from "./commands/train.ts";
import { selectCommand } from "./commands/select.ts";

const USAGE = `gradsift — coreset selection on WebGPU

usage: gradsift <command> [options]

commands:
  serve              start the service (for now: adapter info and a kernel demo)
  gpu-info [--json]  print the WebGPU adapter, backend, features and limits
  train [options]    train a model, with or without selection (gradsift train --help)
  select [options]   select a subset from your own gradient matrix (gradsift select --help)
  test               run every test (type-check, lint and format check included)
  bench [name]       run the benchmarks (name: kernels)
  check              type-check, lint and format-check the sources
  help               this text
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  "gpu-info": gpuInfo,
  serve,
  train: trainCommand,
  select: selectCommand,
  help: () => {
    console.log(USAGE);
    return Promise.resolve(0);
  },
};

async function gpuInfo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const gpu = await acquireGpu();
  try {
    const info = gpu.info();
    console.log(values.json ? JSON.stringify(info) : gpuInfoText(info));
  } finally {
    gpu.destroy();
  }
  return 0;
}

async function serve(args: string[]): Promise<number> {
  parseArgs({ args, options: { port: { type: "string", default: "4000" } } });
  const gpu = await acquireGpu();
  try {
    console.log(gpuInfoText(gpu.info()));
    console.log(await kernelDemo(gpu));
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
