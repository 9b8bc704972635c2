/**
 * gradsift command line: `gradsift <command> [options]`. The `gradsift` launcher at the repository root
 * installs what is missing and runs this file; `test`, `bench` and `check` are handled by the launcher
 * as `deno task` runs.
 */
import { parseArgs } from "node:util";
import { GradsiftError, InvalidInputError } from "./errors.ts";
import { defaultDataDir } from "./data/store.ts";
import { dbConfigFromEnv } from "./db/client.ts";
import { importBuiltinDataset } from "./runs/datasets.ts";
import { startServer } from "./api/server.ts";
import { acquireGpu } from "./gpu/device.ts";
import { gpuInfoText } from "./gpu/info.ts";
import { trainCommand } from "./commands/train.ts";
import { selectCommand } from "./commands/select.ts";
import { workerCommand } from "./commands/worker.ts";
import { QUEUE_OPTIONS, queueSettingsFromArgs, waitForSignal } from "./commands/serve_options.ts";

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

const COMMANDS: Record<string, Command> = {
  "gpu-info": gpuInfo,
  serve,
  worker: workerCommand,
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

/** `gradsift serve`: the GraphQL service until SIGINT/SIGTERM (see src/api/server.ts). */
async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "4000" },
      host: { type: "string", default: "127.0.0.1" },
      cors: { type: "string" },
      concurrency: { type: "string", default: "1" },
      "no-worker": { type: "boolean", default: false },
      "no-import": { type: "boolean", default: false },
      ...QUEUE_OPTIONS,
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`--port must be a port number, got "${values.port}"`);
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(`--concurrency must be an integer ≥ 1, got "${values.concurrency}"`);
  }
  const dataDir = defaultDataDir();
  if (values["no-worker"] && !Deno.env.get("DATABASE_URL")) {
    throw new InvalidInputError(
      "--no-worker needs DATABASE_URL: with the embedded database no other process can take the runs",
    );
  }
  const server = await startServer({
    port,
    hostname: values.host,
    dataDir,
    db: dbConfigFromEnv(dataDir),
    corsOrigins: values.cors?.split(",").map((s) => s.trim()).filter(Boolean),
    worker: values["no-worker"] ? false : { concurrency },
    queue: queueSettingsFromArgs(values),
  });
  const log = (m: string) => console.error(`gradsift: ${m}`);
  if (!values["no-import"] && !(await server.service.datasetByName("fashion-mnist"))) {
    const h = await importBuiltinDataset(server.service, server.store, "fashion-mnist", log);
    h.done.then((d) => d.status === "READY" && log("fashion-mnist imported"));
  }
  console.log(
    `gradsift serving GraphQL at ${server.url} (GraphiQL in a browser; data in ${dataDir}, ` +
      `database ${server.dbHandle.driver}${values["no-worker"] ? ", no worker" : ""}); ` +
      `dashboard at ${server.url.replace(/graphql$/, "")}`,
  );
  log(`${await waitForSignal()}: shutting down`);
  await server.close();
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
