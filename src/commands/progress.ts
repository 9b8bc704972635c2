/** A one-line progress bar on stderr (redrawn in place on a terminal, one line per update otherwise). */

export class ProgressBar {
  #tty = Deno.stderr.isTerminal();
  #last = 0;
  #enc = new TextEncoder();

  /** Draws `label [#####.....] done/total suffix`; throttled to 10 redraws a second on a terminal. */
  update(label: string, done: number, total: number, suffix = ""): void {
    const now = performance.now();
    if (this.#tty && done < total && now - this.#last < 100) return;
    this.#last = now;
    const width = 30;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const line = `${label} [${bar}] ${done}/${total} ${suffix}`;
    if (this.#tty) Deno.stderr.writeSync(this.#enc.encode(`\r\x1b[2K${line}`));
    else if (done === total) Deno.stderr.writeSync(this.#enc.encode(`${line}\n`));
  }

  /** Ends the current line and prints `text` on its own line. */
  log(text: string): void {
    Deno.stderr.writeSync(this.#enc.encode(`${this.#tty ? "\r\x1b[2K" : ""}${text}\n`));
  }
}
