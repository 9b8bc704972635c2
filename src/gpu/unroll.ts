/**
 * Unrolled blocks in WGSL: a kernel's source may hold
 *
 *   //#unroll r RB
 *   let w${r} = g[base + ${r}u * WG];
 *   //#end
 *
 * which `unroll(code, { RB: 8 })` writes out as RB copies of the block's lines with `${r}` replaced by
 * 0 … RB − 1 (blocks nest; the count is a number or a name from `counts`). Why not WGSL loops over
 * function-local arrays: Mesa's lavapipe (llvmpipe 15) keeps such an array in memory instead of
 * registers even when every index is constant after unrolling, and a batch of accumulators declared
 * one by one ran 2.2× faster (omp_rowdot_f16_batch, bench/RESULTS.md). The directives are WGSL
 * comments, so the block's text stays in the `.wgsl` file where it can be read.
 */

const OPEN = /^\s*\/\/#unroll\s+([A-Za-z_]\w*)\s+(\w+)\s*$/;
const CLOSE = /^\s*\/\/#end\s*$/;

/** `code` with every `//#unroll NAME COUNT … //#end` block written out COUNT times. */
export function unroll(code: string, counts: Record<string, number> = {}): string {
  const lines = code.split("\n");
  const [out, next] = expand(lines, 0, counts);
  if (next < lines.length) throw new Error(`unroll: line ${next + 1}: //#end without //#unroll`);
  return out.join("\n");
}

/** Expands lines from `at` until an unmatched //#end (returned index points at it) or the end. */
function expand(lines: string[], at: number, counts: Record<string, number>): [string[], number] {
  const out: string[] = [];
  let i = at;
  while (i < lines.length) {
    const line = lines[i];
    if (CLOSE.test(line)) return [out, i]; // the caller's block ends here (at depth 0: a stray //#end)
    const open = OPEN.exec(line);
    if (!open) {
      out.push(line);
      i++;
      continue;
    }
    const [, name, countText] = open;
    const count = /^\d+$/.test(countText) ? Number(countText) : counts[countText];
    if (count === undefined) throw new Error(`unroll: line ${i + 1}: unknown count ${countText}`);
    const [body, end] = expand(lines, i + 1, counts);
    if (end >= lines.length) throw new Error(`unroll: line ${i + 1}: //#unroll ${name} has no //#end`);
    const token = new RegExp(`\\$\\{${name}\\}`, "g");
    for (let k = 0; k < count; k++) out.push(...body.map((b) => b.replace(token, String(k))));
    i = end + 1;
  }
  return [out, i];
}
