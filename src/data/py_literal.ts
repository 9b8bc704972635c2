/**
 * A parser for the small subset of Python literals that `.npy` headers use: dicts, tuples, lists,
 * strings (single or double quoted, with escapes), integers (with Python 2's trailing `L`), True, False
 * and None. It never evaluates anything. Dicts come back as Maps, tuples and lists as arrays.
 */

/** A parsed literal. */
export type PyValue = string | number | boolean | null | PyValue[] | Map<string | number, PyValue>;

/** Nesting deeper than this is refused (headers nest two levels; this keeps recursion bounded). */
const MAX_DEPTH = 32;

const ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
  "0": "\0",
};

/** Parses one literal filling all of `text` (surrounding whitespace allowed); throws Error on anything else. */
export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${pos}`);
  };
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };

  function sequence(close: string, item: () => void): void {
    for (;;) {
      skip();
      if (text[pos] === close) break;
      item();
      skip();
      if (text[pos] === ",") pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
  }

  function string(): string {
    const quote = text[pos++];
    let out = "";
    while (pos < text.length && text[pos] !== quote) {
      const c = text[pos++];
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[pos++];
      if (e === "x" || e === "u") {
        const hex = text.slice(pos, pos += e === "x" ? 2 : 4);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== (e === "x" ? 2 : 4)) fail("bad escape");
        out += String.fromCharCode(parseInt(hex, 16));
      } else if (e in ESCAPES) out += ESCAPES[e];
      else fail("bad escape");
    }
    if (pos >= text.length) fail("unterminated string");
    pos++;
    return out;
  }

  function value(depth: number): PyValue {
    if (depth > MAX_DEPTH) fail("nesting too deep");
    skip();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const map = new Map<string | number, PyValue>();
      sequence("}", () => {
        const key = value(depth + 1);
        if (typeof key !== "string" && typeof key !== "number") fail("dict key must be a string or integer");
        skip();
        if (text[pos++] !== ":") fail("expected ':'");
        if (map.has(key as string | number)) fail(`duplicate key ${JSON.stringify(key)}`);
        map.set(key as string | number, value(depth + 1));
      });
      return map;
    }
    if (c === "(" || c === "[") {
      pos++;
      const items: PyValue[] = [];
      sequence(c === "(" ? ")" : "]", () => items.push(value(depth + 1)));
      return items;
    }
    if (c === "'" || c === '"') return string();
    const word = /^(?:[-+]?\d+L?|True|False|None)/.exec(text.slice(pos, pos + 64));
    if (!word) return fail(pos >= text.length ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
    pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    const n = Number(word[0].replace("L", ""));
    if (!Number.isSafeInteger(n)) fail(`integer ${word[0]} too large`);
    return n;
  }

  const result = value(0);
  skip();
  if (pos < text.length) fail("trailing characters");
  return result;
}
