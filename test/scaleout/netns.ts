/**
 * Network namespaces for worker processes (Linux, root, `ip` from iproute2): each worker gets a namespace
 * of its own joined to the host by a veth pair, and reaches PostgreSQL only through a TCP relay on the
 * host end of its link — no shared loopback. `available()` is false where namespaces cannot be made
 * (not root, no `ip`, a container without the capability); the tests then run the workers unconfined.
 */

async function ip(...args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

/** Whether this process can create network namespaces. */
export async function available(): Promise<boolean> {
  if (Deno.env.get("GRADSIFT_NO_NETNS") === "1") return false;
  const name = `gsprobe${Deno.pid}`;
  const r = await ip("netns", "add", name);
  if (r.ok) await ip("netns", "del", name);
  return r.ok;
}

export interface Netns {
  name: string;
  /** Prefix for a command run inside the namespace. */
  exec: string[];
  /** The host end's address: the worker's DATABASE_URL points here. */
  hostAddress: string;
  close(): Promise<void>;
}

/**
 * Namespace `index` (0…250) with the link 10.231.<index>.1 (host) – .2 (namespace), and a relay from
 * hostAddress:port to `target` (e.g. PostgreSQL on 127.0.0.1).
 */
export async function createNetns(
  index: number,
  relay: { port: number; target: Deno.ConnectOptions },
): Promise<Netns> {
  const name = `gs${Deno.pid}n${index}`;
  const host = `gs${Deno.pid % 100000}h${index}`.slice(0, 15);
  const inner = `gs${Deno.pid % 100000}i${index}`.slice(0, 15);
  const hostAddress = `10.231.${index}.1`;
  const steps: string[][] = [
    ["netns", "add", name],
    ["link", "add", host, "type", "veth", "peer", "name", inner],
    ["link", "set", inner, "netns", name],
    ["addr", "add", `${hostAddress}/30`, "dev", host],
    ["link", "set", host, "up"],
    ["-n", name, "addr", "add", `10.231.${index}.2/30`, "dev", inner],
    ["-n", name, "link", "set", inner, "up"],
    ["-n", name, "link", "set", "lo", "up"],
  ];
  for (const s of steps) {
    const r = await ip(...s);
    if (!r.ok) {
      await ip("netns", "del", name);
      await ip("link", "del", host);
      throw new Error(`ip ${s.join(" ")}: ${r.err}`);
    }
  }
  const listener = Deno.listen({ hostname: hostAddress, port: relay.port });
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        let upstream: Deno.Conn | null = null;
        try {
          upstream = await Deno.connect(relay.target);
          conns.add(upstream);
          await Promise.all([
            conn.readable.pipeTo(upstream.writable),
            upstream.readable.pipeTo(conn.writable),
          ]);
        } catch {
          // A side closed: the other goes with it below.
        } finally {
          for (const c of [conn, upstream]) {
            if (c) {
              conns.delete(c);
              try {
                c.close();
              } catch { /* already closed */ }
            }
          }
        }
      })();
    }
  })().catch(() => {});
  return {
    name,
    exec: ["ip", "netns", "exec", name],
    hostAddress,
    close: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await serving;
      await ip("netns", "del", name);
      await ip("link", "del", host);
    },
  };
}
