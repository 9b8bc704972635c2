/**
 * HTTP details of /graphql on the real server: queries over GET, mutations refused over GET, and CORS as
 * configured (any origin by default, a list of origins, or off).
 */
import assert from "node:assert/strict";
import { testServer } from "./helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function preflight(url: string, origin: string): Promise<{ status: number; allow: string | null }> {
  const r = await fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
  await r.body?.cancel();
  return { status: r.status, allow: r.headers.get("access-control-allow-origin") };
}

Deno.test("GET runs queries and refuses mutations", opts, async () => {
  const s = await testServer({ worker: false });
  try {
    const q = await fetch(`${s.url}?query=${encodeURIComponent("{ datasets { totalCount } }")}`, {
      headers: { accept: "application/json" },
    });
    assert.equal(q.status, 200);
    assert.deepEqual(await q.json(), { data: { datasets: { totalCount: 0 } } });
    const m = await fetch(
      `${s.url}?query=${encodeURIComponent('mutation { deleteRun(id: "UnVuOjE") { deletedId } }')}`,
      { headers: { accept: "application/json" } },
    );
    assert.equal(m.status, 405);
    const body = await m.json();
    assert.match(body.errors[0].message, /POST/);
    assert.ok(body.errors[0].extensions.code, "the refusal carries a code");
  } finally {
    await s.stop();
  }
});

Deno.test("CORS: any origin by default, only the listed ones, or off", opts, async () => {
  const any = await testServer({ worker: false });
  try {
    assert.deepEqual(await preflight(any.url, "http://a.example"), {
      status: 204,
      allow: "http://a.example",
    });
  } finally {
    await any.stop();
  }
  const listed = await testServer({ worker: false, corsOrigins: ["http://a.example"] });
  try {
    assert.deepEqual(await preflight(listed.url, "http://a.example"), {
      status: 204,
      allow: "http://a.example",
    });
    // Another origin is not echoed back, so a browser refuses the response.
    const other = await preflight(listed.url, "http://b.example");
    assert.notEqual(other.allow, "http://b.example");
    assert.notEqual(other.allow, "*");
  } finally {
    await listed.stop();
  }
  const off = await testServer({ worker: false, corsOrigins: [] });
  try {
    assert.equal((await preflight(off.url, "http://a.example")).allow, null);
  } finally {
    await off.stop();
  }
});
