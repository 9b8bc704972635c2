/**
 * Real gradsift processes for multi-process tests: `gradsift serve` and `gradsift worker` started with
 * Deno from src/cli.ts, each with its own data directory, and a small GraphQL client for them.
 */
const root = new URL("../../", import.meta.url).pathname;

export interface Proc {
  child: Deno.ChildProcess;
  /** stdout and stderr lines so far. */
  lines: string[];
  /** The GraphQL URL (serve) or the worker id (worker), from the first line on stdout. */
  first: string;
  /** kill -9. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit; returns the exit code. */
  stop(): Promise<number>;
  /** Waits for a line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * Starts `gradsift <args>` with `env` (and GRADSIFT_DATA = dataDir), optionally under a wrapper command
 * (e.g. `ip netns exec NAME`); resolves once it has printed its first line.
 */
export async function spawnGradsift(
  args: string[],
  dataDir: string,
  env: Record<string, string> = {},
  wrap: string[] = [],
): Promise<Proc> {
  const deno = [Deno.execPath(), "run", "-A", "--config", `${root}deno.json`, `${root}src/cli.ts`, ...args];
  const [cmd, ...cmdArgs] = [...wrap, ...deno];
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    env: { GRADSIFT_DATA: dataDir, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (Deno.env.get("GRADSIFT_TEST_VERBOSE")) console.error(`[${args[0]} ${child.pid}] ${line}`);
        for (const w of waiters.splice(0)) w.re.test(line) ? w.resolve(line) : waiters.push(w);
      }
    }
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  const waitFor = (re: RegExp, timeoutMs = 60_000) => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${re} from gradsift ${args[0]}:\n${lines.join("\n")}`)),
        timeoutMs,
      );
      status.then(() =>
        setTimeout(() => reject(new Error(`gradsift ${args[0]} exited:\n${lines.join("\n")}`)), 200)
      );
      waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  };
  const firstLine = await waitFor(/^gradsift (serving GraphQL at|worker [0-9a-f-]+ taking runs)/);
  const first = /serving GraphQL at (\S+)/.exec(firstLine)?.[1] ?? /worker ([0-9a-f-]+)/.exec(firstLine)![1];
  let exited = false;
  status.then(() => exited = true);
  return {
    child,
    lines,
    first,
    waitFor,
    kill: async () => {
      if (!exited) child.kill("SIGKILL");
      await status;
      await pumped;
    },
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await pumped;
      return s.code;
    },
  };
}

export type Gql = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;

export function client(url: string): Gql {
  return async (query, variables) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return await res.json();
  };
}

export interface RunState {
  status: string;
  error: string | null;
  attempts: number;
  worker: { id: string } | null;
  epochs: { epoch: number }[];
}

export async function runState(gql: Gql, id: string): Promise<RunState> {
  const r = await gql<{ run: RunState }>(
    `query($id: ID!) { run(id: $id) { status error attempts worker { id } epochs { epoch } } }`,
    { id },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.run;
}

/** Polls until `done(state)`; returns the state. */
export async function pollRun(
  gql: Gql,
  id: string,
  done: (s: RunState) => boolean,
  timeoutMs = 120_000,
): Promise<RunState> {
  const t0 = Date.now();
  let s = await runState(gql, id);
  while (!done(s)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`run ${id} stuck: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
    s = await runState(gql, id);
  }
  return s;
}

/** Polls until the run has ended (SUCCEEDED, FAILED or CANCELLED); returns its state. */
export async function waitEnded(gql: Gql, id: string, timeoutMs = 120_000): Promise<RunState> {
  return await pollRun(gql, id, (s) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(s.status), timeoutMs);
}

/** Imports a built-in dataset through the API and waits for READY; returns its id. */
export async function importDataset(gql: Gql, name: string): Promise<string> {
  const r = await gql<{ importDataset: { dataset: { id: string } } }>(
    `mutation($n: String!) { importDataset(input: { name: $n }) { dataset { id } } }`,
    { n: name },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  const id = r.data.importDataset.dataset.id;
  for (let i = 0; i < 600; i++) {
    const q = await gql<{ dataset: { status: string; error: string | null } }>(
      `query($id: ID!) { dataset(id: $id) { status error } }`,
      { id },
    );
    if (q.data?.dataset.status === "READY") return id;
    if (q.data?.dataset.status === "FAILED") throw new Error(`import failed: ${q.data.dataset.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("import did not finish");
}

export async function startTraining(gql: Gql, input: Record<string, unknown>): Promise<string> {
  const r = await gql<{ startTraining: { run: { id: string } } }>(
    `mutation($i: StartTrainingInput!) { startTraining(input: $i) { run { id } } }`,
    { i: input },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.startTraining.run.id;
}
