/**
 * The web dashboard's static files: `/` (web/index.html) and `/assets/app.js|app.css` (web/dist/, built
 * by `deno task web:build` and committed). Read once at start-up; served with an ETag, `no-cache` (so a
 * rebuilt dashboard shows up on reload) and a Content-Security-Policy that allows only this origin,
 * so the dashboard cannot load anything from a CDN. The dashboard itself uses only /graphql.
 */
const WEB = new URL("../../web/", import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "dist/app.js", type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: "dist/app.css", type: "text/css; charset=utf-8" },
};

const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
  "style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** Loads the dashboard's files; returns a handler answering their paths (null for any other path). */
export async function dashboardHandler(): Promise<(req: Request, url: URL) => Response | null> {
  const assets = new Map<string, Asset | null>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    try {
      const body = await Deno.readFile(new URL(file, WEB));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
      const etag = `"${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
      assets.set(path, { body, type, etag });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      assets.set(path, null);
    }
  }
  return (req, url) => {
    if (!assets.has(url.pathname)) return null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const a = assets.get(url.pathname);
    if (!a) {
      return new Response("the dashboard is not built: run `deno task web:build`\n", {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    const headers = {
      "content-type": a.type,
      "cache-control": "no-cache",
      etag: a.etag,
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
    };
    if (req.headers.get("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
    return new Response(req.method === "HEAD" ? null : a.body, { headers });
  };
}
