/**
 * Global ids (Relay): base64url of "<Type>:<database id>", so `node(id)` knows the type and ids of
 * different types never collide. A malformed id is BAD_USER_INPUT; an id of the wrong type, NOT_FOUND.
 */
import { InvalidInputError } from "../errors.ts";
import { NotFoundError } from "../runs/service.ts";

export type NodeType = "Dataset" | "Run" | "Subset";
const NODE_TYPES: readonly string[] = ["Dataset", "Run", "Subset"];

function b64url(s: string): string {
  // Every page's edges each carry a cursor: plain string replacement, no regular expressions.
  const b = btoa(s);
  let end = b.length;
  while (end > 0 && b.charCodeAt(end - 1) === 61 /* = */) end--;
  return b.slice(0, end).replaceAll("+", "-").replaceAll("/", "_");
}

function unb64url(s: string): string | null {
  try {
    return atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
}

export function toGlobalId(type: NodeType, id: number): string {
  return b64url(`${type}:${id}`);
}

/** Decodes any global id. */
export function parseGlobalId(id: string): { type: NodeType; id: number } {
  const m = /^([A-Za-z]+):(\d{1,10})$/.exec(unb64url(id) ?? "");
  if (!m || !NODE_TYPES.includes(m[1])) throw new InvalidInputError(`"${id}" is not a gradsift id`);
  return { type: m[1] as NodeType, id: Number(m[2]) };
}

/** Decodes a global id that must be of `type`. */
export function parseIdOf(type: NodeType, id: string): number {
  const g = parseGlobalId(id);
  if (g.type !== type) throw new NotFoundError(`${id} is a ${g.type} id; no ${type} has it`);
  return g.id;
}

/** Opaque page cursors: base64url JSON. */
export function encodeCursor(key: unknown): string {
  return b64url(JSON.stringify(key));
}

export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T {
  let v: unknown;
  try {
    v = JSON.parse(unb64url(cursor) ?? "");
  } catch {
    v = undefined;
  }
  if (!check(v)) throw new InvalidInputError(`"${cursor}" is not a cursor of this connection`);
  return v;
}
