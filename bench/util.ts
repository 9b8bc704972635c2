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

/** How a repeated measurement is taken (see `timeGpuRepeated`). */
export interface RepeatOptions {
  /** Shortest sample (ms): the work is repeated R times per sample until one takes at least this. */
  minSampleMs: number;
  /** Samples at the final R; the median is reported. */
  samples: number;
  /** A warm-up run at least this long (ms) is the measurement itself: no repeats, no further samples. */
  longMs: number;
  /** Most repeats per sample. */
  maxRepeats: number;
}

/** A time per run (ms) and the repeats per sample it was divided from. */
export interface RepeatedTime {
  ms: number;
  repeats: number;
}

/**
 * Time per run (ms) of `sample(r)`, which does r runs and resolves when they are done: one warm-up
 * sample, then r grown from 1 until a sample takes `minSampleMs`, then the median of `samples` samples
 * divided by r, subtracting nothing. The first sample at a new r is calibration only, never counted:
 * it may pay for buffers the pool had not held before.
 */
export async function timeRepeated(
  sample: (repeats: number) => Promise<void> | void,
  opts: RepeatOptions,
): Promise<RepeatedTime> {
  const timed = async (r: number) => {
    const t0 = performance.now();
    await sample(r);
    return performance.now() - t0;
  };
  const warm = await timed(1);
  if (warm >= opts.longMs) return { ms: warm, repeats: 1 };
  let r = 1;
  let t = await timed(1);
  for (;;) {
    while (t < opts.minSampleMs && r < opts.maxRepeats) {
      // Aim 30% past the minimum from the last rate, at least doubling and at most ×16 per try.
      const grow = Math.min(16, Math.max(2, Math.ceil((1.3 * opts.minSampleMs) / Math.max(t, 0.01))));
      r = Math.min(opts.maxRepeats, r * grow);
      t = await timed(r);
    }
    const times: number[] = [];
    for (let i = 0; i < opts.samples; i++) times.push(await timed(r));
    t = median(times);
    // Calibrating on runs still slowed by warm-up (a JIT tier, a cold cache) can leave the samples far
    // under the minimum: then grow r from their time and sample again.
    if (t >= opts.minSampleMs / 2 || r >= opts.maxRepeats) return { ms: t / r, repeats: r };
  }
}

/**
 * GPU time per run (ms) of the work `record` records: each sample records it `repeats` times into one
 * step, submits once and waits (see `timeRepeated`). Every wait for the GPU costs a fixed latency (~11 ms
 * in Deno), so small kernels are repeated until it is a small part of a sample; recording is included.
 */
export async function timeGpuRepeated(
  gpu: Gpu,
  record: (s: Step) => void,
  opts: RepeatOptions,
): Promise<RepeatedTime> {
  return await timeRepeated((r) =>
    run(gpu, "bench", (s) => {
      for (let i = 0; i < r; i++) record(s);
    }), opts);
}

/** CPU time per run (ms) of `fn`, repeated as `timeRepeated` does. */
export async function timeSyncRepeated(fn: () => void, opts: RepeatOptions): Promise<RepeatedTime> {
  return await timeRepeated((r) => {
    for (let i = 0; i < r; i++) fn();
  }, opts);
}

/** The value of `--name=V` or `--name V` in `args`, if given. */
export function argValue(args: readonly string[], name: string): string | undefined {
  const eq = args.find((a) => a.startsWith(`${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 1);
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length && !args[i + 1].startsWith("-") ? args[i + 1] : undefined;
}
