/** `gradsift serve`: the all-in-one GraphQL service (API, worker and embedded database by default). */
import { parseArgs } from "node:util";
import { InvalidInputError } from "../errors.ts";
import { defaultDataDir } from "../data/store.ts";
import { dbConfigFromEnv } from "../db/client.ts";
import { importBuiltinDataset } from "../runs/datasets.ts";
import { startServer } from "../api/server.ts";
import { QUEUE_OPTIONS, queueSettingsFromArgs, waitForSignal } from "./serve_options.ts";

/** `gradsift serve`: the GraphQL service until SIGINT/SIGTERM (see src/api/server.ts). */
export async function serveCommand(args: string[]): Promise<number> {
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
