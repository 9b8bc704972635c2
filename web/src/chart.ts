/// <reference lib="dom" />
/**
 * A line chart on uPlot (canvas; about 50 KB minified, made for streaming time series). The plot is
 * created once per set of series and updated in place with `setData` as points arrive, which is what
 * keeps a live run page cheap: no re-layout, one canvas redraw per event.
 */
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Series {
  label: string;
  color: string;
  dash?: number[];
  points?: boolean;
}

export interface ChartProps {
  title: string;
  xLabel: string;
  /** Whole-number x ticks (epochs). */
  integerX?: boolean;
  /** A fixed x range, e.g. [1, epochs] so a live chart fills in instead of rescaling. */
  xRange?: [number, number];
  yLabel: string;
  series: Series[];
  /** [xs, ...ys] aligned (null where a series has no point at that x). */
  data: (number | null)[][];
  height?: number;
  /** Called after each redraw with new data, with the time setData was called. */
  onDrawn?: (calledAt: number) => void;
  testId?: string;
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const pending = useRef<number | null>(null);
  const seriesKey = JSON.stringify([p.series, p.xLabel, p.yLabel, p.integerX, p.xRange]);
  const drawn = useRef(p.onDrawn);
  drawn.current = p.onDrawn;

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      title: p.title,
      width: Math.max(300, el.clientWidth),
      height: p.height ?? 240,
      scales: { x: { time: false, ...(p.xRange ? { range: p.xRange } : {}) } },
      axes: [
        { label: p.xLabel, ...(p.integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } : {}) },
        { label: p.yLabel },
      ],
      series: [
        { label: p.xLabel },
        ...p.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          spanGaps: true,
          points: { show: s.points ?? true, size: 5 },
        })),
      ],
      hooks: {
        draw: [() => {
          if (pending.current !== null) {
            const at = pending.current;
            pending.current = null;
            drawn.current?.(at);
          }
        }],
      },
    };
    const u = new uPlot(opts, p.data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() =>
      u.setSize({ width: Math.max(300, el.clientWidth), height: opts.height })
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    if (!plot.current) return;
    pending.current = performance.now();
    plot.current.setData(p.data as uPlot.AlignedData);
  }, [p.data]);

  return html`<div class="chart" data-testid=${p.testId} ref=${box}></div>`;
}

/** Joins per-series [xs, ys] tables on x into uPlot's aligned form (null where a series lacks an x). */
export function align(tables: [number[], (number | null)[]][]): (number | null)[][] {
  const xs = [...new Set(tables.flatMap(([x]) => x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  return [
    xs,
    ...tables.map(([x, y]) => {
      const col: (number | null)[] = new Array(xs.length).fill(null);
      x.forEach((v, i) => (col[at.get(v)!] = y[i]));
      return col;
    }),
  ];
}
