/**
 * The dashboard's files from the real server: `/` and its assets with types, ETags and a CSP that
 * allows only this origin; /graphql and /healthz unaffected.
 */
import assert from "node:assert/strict";
import { testServer } from "./helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("the server serves the dashboard at / and its assets", opts, async () => {
  const s = await testServer({ worker: false });
  const origin = s.url.replace(/\/graphql$/, "");
  try {
    const page = await fetch(`${origin}/`);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.match(html, /<script type="module" src="\/assets\/app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/assets\/app\.css"/);

    for (const [path, type] of [["/assets/app.js", "text/javascript"], ["/assets/app.css", "text/css"]]) {
      const r = await fetch(`${origin}${path}`);
      const body = await r.text();
      assert.equal(r.status, 200, path);
      assert.ok(r.headers.get("content-type")!.startsWith(type), path);
      assert.ok(body.length > 1000, path);
      assert.ok(!/unpkg\.com|jsdelivr|cdnjs|googleapis/.test(body), `${path}: no CDN`);
      const again = await fetch(`${origin}${path}`, { headers: { "if-none-match": r.headers.get("etag")! } });
      assert.equal(again.status, 304, `${path}: revalidated by ETag`);
      await again.body?.cancel();
    }
    const js = await (await fetch(`${origin}/assets/app.js`)).text();
    assert.match(js, /runEvents/, "the bundle subscribes to runEvents");

    const post = await fetch(`${origin}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    const missing = await fetch(`${origin}/assets/nope.js`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const q = await s.gql<{ __typename: string }>(`{ __typename }`);
    assert.deepEqual(q.data, { __typename: "Query" });
    assert.equal((await (await fetch(`${origin}/healthz`)).json()).status, "ok");
  } finally {
    await s.stop();
  }
});
