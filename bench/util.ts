/** Benchmark helpers: timing, tables, and the adapter/machine line every table carries. */
import type { Gpu } from "../src/gpu/device.ts";
import { run, type Step } from "../src/gpu/step.ts";

/** Median of `reps` timings (ms) of an async function, after `warmup` untimed calls. */
export async function timeAsync(fn: () => Promise<void>, reps = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Median of `reps` timings (ms) of a synchronous function. */
export function timeSync(fn: () => void, reps = 3, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Wall time (ms) of GPU work recorded by `record`, submitted as one step and waited for. */
export async function timeGpu(gpu: Gpu, record: (s: Step) => void, reps = 5): Promise<number> {
  return await timeAsync(() => run(gpu, "bench", record), reps, 1);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A Markdown table (also readable as plain text). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(headers),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map((r) => line(r.map(String))),
  ]
    .join("\n");
}

/** "machine: … · adapter: …": the provenance line printed above every table. */
export async function provenance(gpu: Gpu): Promise<string> {
  const info = gpu.info();
  let cpu = "unknown CPU";
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.*)/.exec(text)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return `machine: ${cpu}, ${navigator.hardwareConcurrency} threads · adapter: ${info.description} (${info.backend})` +
    ` · deno ${Deno.version.deno} · ${new Date().toISOString().slice(0, 10)}`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}
