/** Helpers shared by the data-layer tests: typed-error assertions and gzip. */
import assert from "node:assert/strict";
import { InvalidInputError } from "../../src/errors.ts";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** Checks that `e` is a `cls` (and an InvalidInputError) whose message contains every fragment. */
function check(e: unknown, cls: ErrorClass, fragments: string[]): true {
  assert.ok(
    e instanceof cls,
    `expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
  );
  assert.ok(e instanceof InvalidInputError, `${cls.name} should be an InvalidInputError`);
  for (const f of fragments) {
    assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
  }
  return true;
}

/** `fn()` throws a `cls` whose message contains every fragment. */
export function throwsTyped(fn: () => unknown, cls: ErrorClass, ...fragments: string[]): void {
  assert.throws(fn, (e) => check(e, cls, fragments));
}

/** `p` rejects with a `cls` whose message contains every fragment. */
export async function rejectsTyped(
  p: Promise<unknown>,
  cls: ErrorClass,
  ...fragments: string[]
): Promise<void> {
  await assert.rejects(p, (e) => check(e, cls, fragments));
}

/** Gzips bytes with the platform's CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Per-value histogram of integer labels. */
export function histogram(labels: ArrayLike<number>, classes: number): number[] {
  const h = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
}

/** A fresh temporary directory, removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "gradsift-data-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Bytes from base64 (fixtures written by NumPy). */
export function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
