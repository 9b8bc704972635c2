/// <reference lib="dom" />
/**
 * Thumbnail grids of samples, drawn from the API's grey pixels (base64 bytes), and class-count bars.
 */
import { html } from "htm/preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

export interface ThumbImage {
  width: number;
  height: number;
  /** base64 of height × width grey bytes. */
  pixels: string;
}

export interface Thumb {
  key: number;
  image: ThumbImage;
  title: string;
  caption?: string;
}

/** Thumbnail size on screen (CSS px): 28 × 28 samples at 1.5×, nearest-neighbour. */
const CELL = 42;
const GAP = 3;
const CAPTION = 12;
/**
 * Thumbnails drawn per animation frame: about 0.05 ms each, so a batch takes a few ms and no frame runs
 * long even on a loaded CPU; 1,000 take 8 frames.
 */
const BATCH = 125;

/**
 * A grid of thumbnails drawn into one canvas: every batch of samples goes into one ImageData atlas
 * (one putImageData), then each is copied scaled into its cell. One canvas for the whole grid is what
 * keeps 1,000 thumbnails cheap: an <img> or <canvas> per thumbnail costs 0.3–0.7 ms each in
 * software-rendered Chromium (image decodes, canvas contexts) and made long tasks. Hovering a cell
 * shows its title; `data-keys` lists the keys drawn, in order; `onDone` fires once all are drawn.
 */
export function ThumbGrid(
  { items, testId, onDone }: { items: Thumb[]; testId?: string; onDone?: () => void },
) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const captions = items.some((t) => t.caption);
  const cellH = CELL + (captions ? CAPTION : 0);
  const cols = Math.max(1, Math.floor((width + GAP) / (CELL + GAP)));
  const rows = Math.ceil(items.length / cols);

  useLayoutEffect(() => {
    const el = box.current!;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useLayoutEffect(() => {
    const c = canvas.current;
    if (!c || !width) return;
    const dpr = globalThis.devicePixelRatio || 1;
    const [w, h] = [cols * (CELL + GAP), Math.max(1, rows * (cellH + GAP))];
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${h}px`;
    c.dataset.keys = "";
    const ctx = c.getContext("2d")!;
    ctx.scale(dpr, dpr);
    ctx.imageSmoothingEnabled = false;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillStyle = "#6b7280";
    let at = 0;
    let frame = 0;
    const step = () => {
      const batch = items.slice(at, at + BATCH);
      drawBatch(ctx, batch, at, cols, cellH);
      c.dataset.keys += (at ? "," : "") + batch.map((t) => t.key).join(",");
      at += batch.length;
      if (at < items.length) frame = requestAnimationFrame(step);
      else if (items.length) onDone?.();
    };
    // The first batch too waits for a frame: the task that delivered the data (JSON parse, render) ends first.
    frame = requestAnimationFrame(step);
    return () => cancelAnimationFrame(frame);
  }, [items, width]);

  const hover = (e: MouseEvent) => {
    const c = canvas.current!;
    const r = c.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / (CELL + GAP));
    const row = Math.floor((e.clientY - r.top) / (cellH + GAP));
    const t = col < cols ? items[row * cols + col] : undefined;
    c.title = t?.title ?? "";
  };
  return html`
    <div class="thumbs" ref=${box}>
      <canvas ref=${canvas} data-testid=${testId} data-count=${items.length} onMouseMove=${hover} role="img"
        aria-label=${`${items.length} sample images`}></canvas>
    </div>
  `;
}

/** Draws items [first, first + batch.length) into their cells: one atlas of 28 × 28 images, then copies. */
function drawBatch(
  ctx: CanvasRenderingContext2D,
  batch: Thumb[],
  first: number,
  cols: number,
  cellH: number,
) {
  if (!batch.length) return;
  const w = Math.max(...batch.map((t) => t.image.width));
  const h = Math.max(...batch.map((t) => t.image.height));
  const per = Math.min(batch.length, 32);
  const atlas = new ImageData(w * per, h * Math.ceil(batch.length / per)); // RGBA, row-major
  batch.forEach((t, k) => {
    const grey = atob(t.image.pixels);
    const [ox, oy] = [(k % per) * w, Math.floor(k / per) * h];
    for (let y = 0; y < t.image.height; y++) {
      for (let x = 0; x < t.image.width; x++) {
        const o = 4 * ((oy + y) * atlas.width + ox + x);
        atlas.data[o] = atlas.data[o + 1] = atlas.data[o + 2] = grey.charCodeAt(y * t.image.width + x);
        atlas.data[o + 3] = 255;
      }
    }
  });
  const src = new OffscreenCanvas(atlas.width, atlas.height);
  src.getContext("2d")!.putImageData(atlas, 0, 0);
  batch.forEach((t, k) => {
    const i = first + k;
    const [x, y] = [(i % cols) * (CELL + GAP), Math.floor(i / cols) * (cellH + GAP)];
    // Non-square images (a 1 × d strip) keep their aspect ratio inside the cell.
    const s = CELL / Math.max(t.image.width, t.image.height);
    const [dw, dh] = [t.image.width * s, t.image.height * s];
    ctx.drawImage(
      src,
      (k % per) * w,
      Math.floor(k / per) * h,
      t.image.width,
      t.image.height,
      x + (CELL - dw) / 2,
      y + (CELL - dh) / 2,
      dw,
      dh,
    );
    if (t.caption) ctx.fillText(t.caption, x + CELL / 2, y + CELL + CAPTION - 2);
  });
}

/** Horizontal bars of class counts; `compare` (e.g. the dataset's) drawn as a second, lighter bar. */
export function ClassBars(
  { counts, names, compare, compareLabel, label }: {
    counts: number[];
    names?: string[] | null;
    compare?: number[];
    compareLabel?: string;
    label?: string;
  },
) {
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  const totalC = compare?.reduce((a, b) => a + b, 0) || 1;
  const max = Math.max(...counts.map((c) => c / total), ...(compare ?? []).map((c) => c / totalC), 1e-9);
  return html`<table class="bars">
    ${
    counts.map((c, i) =>
      html`
        <tr>
          <th>${names?.[i] ?? `class ${i}`}</th>
          <td>
                  <div class="bar" style=${`width:${(100 * c / total / max).toFixed(1)}%`}></div>
                  ${compare
                    ? html`<div class="bar cmp" style=${`width:${
                      (100 * compare[i] / totalC / max).toFixed(1)
                    }%`}></div>`
                    : null}
                </td>
          <td class="num">${c}${label ? ` ${label}` : ""}${compare
            ? html`<span class="muted"> / ${compare[i]} ${compareLabel ?? ""}</span>`
            : null}</td>
        </tr>
      `
    )
  }
  </table>`;
}
