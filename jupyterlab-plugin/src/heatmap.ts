/**
 * A canvas heatmap of one bag: one cell per instance at its patch position, drawn as layers onto a
 * single canvas (so 50,000 patches draw in milliseconds, where one SVG node per patch took
 * seconds):
 *   1. underlay: an optional image under the cells (a slide thumbnail; `setUnderlay`),
 *   2. cells: the colour of each instance's scaled score, rendered once into a one-pixel-per-cell
 *      bitmap and scaled up without smoothing; `opacity` and `threshold` (cells below a score
 *      percentile are left transparent) only re-blit or re-fill it,
 *   3. outlines of known positive instances,
 *   4. the hovered cell.
 * Cell geometry (grid → canvas pixels) lives in one place, `instanceRect`, which is what an underlay in
 * slide coordinates will share; a view transform (wheel zoom, drag to pan, double-click resets)
 * applies to every layer alike.
 */
import { viridisRgb } from 'milkit/core';

export interface HeatmapGrid {
  /** Each instance's (top-left) cell. */
  col: Int32Array;
  row: Int32Array;
  cols: number;
  rows: number;
  /** Cells per instance side (default 1); patches tiled with overlap share cells (slideGrid.ts). */
  span?: number;
}

/** A view transform: canvas = k · layer + (tx, ty). */
export interface HeatmapView {
  k: number;
  tx: number;
  ty: number;
}

export interface HeatmapStyle {
  /** Outline colour of known positive instances. */
  outline: string;
  /** Hovered cell's frame. */
  hover: string;
  /** Background where there is no cell. */
  empty: string;
}

/** viridis as a 256-entry RGB lookup table. */
const LUT = (() => {
  const t = new Uint8Array(256 * 3);
  for (let k = 0; k < 256; k++) t.set(viridisRgb(k / 255), 3 * k);
  return t;
})();

export class HeatmapCanvas {
  readonly canvas = document.createElement('canvas');
  private readonly cells = document.createElement('canvas');
  private readonly at: Int32Array;
  private t: Float32Array = new Float32Array(0);
  private positives?: Uint8Array;
  private underlay?: CanvasImageSource;
  private hovered = -1;
  /** Device pixels per cell. */
  readonly cell: number;
  opacity = 1;
  /** Cells whose colour position (0..1) is below this are not drawn. */
  threshold = 0;
  private view: HeatmapView = { k: 1, tx: 0, ty: 0 };
  /** Called after the user zooms or pans (side-by-side maps follow each other). */
  onView?: (view: HeatmapView) => void;
  private readonly span: number;

  constructor(
    readonly grid: HeatmapGrid,
    private readonly style: HeatmapStyle,
    maxPx = 520,
  ) {
    this.span = grid.span ?? 1;
    this.cell = Math.max(1, Math.floor(maxPx / Math.max(grid.cols, grid.rows)));
    this.canvas.width = grid.cols * this.cell;
    this.canvas.height = grid.rows * this.cell;
    this.canvas.className = 'milkit-heatmap-canvas';
    // For tests and screen readers of the pixels: cell size, the empty colour as "r,g,b", the zoom.
    this.canvas.dataset.cell = String(this.cell);
    this.canvas.dataset.empty = rgbOf(style.empty);
    this.cells.width = grid.cols;
    this.cells.height = grid.rows;
    // Which instance sits in each grid cell (hover lookups in O(1)); -1 = none. Where patches
    // overlap, a cell belongs to the patch centred on it, else to any patch covering it.
    this.at = new Int32Array(grid.cols * grid.rows).fill(-1);
    const span = this.span;
    if (span > 1)
      for (let i = 0; i < grid.col.length; i++)
        for (let r = grid.row[i]; r < grid.row[i] + span; r++)
          for (let c = grid.col[i]; c < grid.col[i] + span; c++)
            if (this.at[r * grid.cols + c] < 0) this.at[r * grid.cols + c] = i;
    const mid = Math.floor(span / 2);
    for (let i = 0; i < grid.col.length; i++) this.at[(grid.row[i] + mid) * grid.cols + grid.col[i] + mid] = i;
    this.canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const [x, y] = this.toCanvas(e.offsetX, e.offsetY);
      this.zoomAt(x, y, e.deltaY < 0 ? 1.25 : 0.8);
    });
    let drag: { x: number; y: number } | undefined;
    this.canvas.addEventListener('mousedown', (e) => (drag = { x: e.offsetX, y: e.offsetY }));
    window.addEventListener('mouseup', () => (drag = undefined));
    this.canvas.addEventListener('mousemove', (e) => {
      if (!drag || !(e.buttons & 1)) return;
      const [dx, dy] = this.toCanvas(e.offsetX - drag.x, e.offsetY - drag.y);
      drag = { x: e.offsetX, y: e.offsetY };
      this.panBy(dx, dy);
    });
    this.canvas.addEventListener('dblclick', () => this.resetView());
  }

  /** CSS pixels on the displayed canvas → canvas pixels (the canvas may be shown scaled down). */
  private toCanvas(cssX: number, cssY: number): [number, number] {
    const scale = this.canvas.width / (this.canvas.getBoundingClientRect().width || this.canvas.width);
    return [cssX * scale, cssY * scale];
  }

  /** Zooms by `factor` keeping canvas point (x, y) in place (never below the whole grid). */
  zoomAt(x: number, y: number, factor: number): void {
    const k = Math.min(64, Math.max(1, this.view.k * factor));
    const f = k / this.view.k;
    this.view = { k, tx: x - f * (x - this.view.tx), ty: y - f * (y - this.view.ty) };
    this.viewChanged();
  }

  panBy(dx: number, dy: number): void {
    this.view.tx += dx;
    this.view.ty += dy;
    this.viewChanged();
  }

  resetView(): void {
    this.view = { k: 1, tx: 0, ty: 0 };
    this.viewChanged();
  }

  /** Shows the same part of the grid as another canvas of the same size (no `onView` call). */
  setView(view: HeatmapView): void {
    this.view = { ...view };
    this.clampView();
    this.draw();
  }

  private viewChanged(): void {
    this.clampView();
    this.draw();
    this.onView?.({ ...this.view });
  }

  /** The zoom factor (1 = whole grid). */
  get zoom(): number {
    return this.view.k;
  }

  private clampView(): void {
    const { width, height } = this.canvas;
    const k = this.view.k;
    this.view.tx = Math.min(0, Math.max(width - k * width, this.view.tx));
    this.view.ty = Math.min(0, Math.max(height - k * height, this.view.ty));
  }

  /** Canvas rectangle of an instance's cells (the one mapping from instance layout to pixels). */
  instanceRect(i: number): [number, number, number, number] {
    const side = this.span * this.cell;
    return [this.grid.col[i] * this.cell, this.grid.row[i] * this.cell, side, side];
  }

  /** An image drawn under the cells, stretched over the whole grid (e.g. a slide thumbnail). */
  setUnderlay(image: CanvasImageSource | undefined): void {
    this.underlay = image;
    this.draw();
  }

  /** New colour positions (0..1 per instance) and known positives; re-renders the cell bitmap. */
  setScores(t: Float32Array, positives?: ArrayLike<number>): void {
    this.t = t;
    this.positives = positives ? Uint8Array.from(positives, (v) => (v > 0 ? 1 : 0)) : undefined;
    this.renderCells();
    this.draw();
  }

  setThreshold(threshold: number): void {
    this.threshold = threshold;
    this.renderCells();
    this.draw();
  }

  setOpacity(opacity: number): void {
    this.opacity = opacity;
    this.draw();
  }

  /** The instance under point (x, y) in CSS pixels of the displayed canvas, or -1. */
  instanceAt(cssX: number, cssY: number): number {
    const [x, y] = this.toCanvas(cssX, cssY);
    const col = Math.floor((x - this.view.tx) / this.view.k / this.cell);
    const row = Math.floor((y - this.view.ty) / this.view.k / this.cell);
    if (col < 0 || row < 0 || col >= this.grid.cols || row >= this.grid.rows) return -1;
    return this.at[row * this.grid.cols + col];
  }

  setHover(i: number): void {
    if (i === this.hovered) return;
    this.hovered = i;
    this.draw();
  }

  /** One pixel per cell, RGBA from the LUT; cells under the threshold stay transparent. */
  private renderCells(): void {
    const { cols, rows, col, row } = this.grid;
    const img = new ImageData(cols, rows);
    const px = img.data;
    if (this.span > 1) return this.renderOverlapping(img);
    for (let i = 0; i < this.t.length; i++) {
      const v = this.t[i];
      if (v < this.threshold) continue;
      const k = 3 * Math.round(255 * Math.min(1, Math.max(0, v)));
      const o = 4 * (row[i] * cols + col[i]);
      px[o] = LUT[k];
      px[o + 1] = LUT[k + 1];
      px[o + 2] = LUT[k + 2];
      px[o + 3] = 255;
    }
    this.cells.getContext('2d')!.putImageData(img, 0, 0);
  }

  /** Cells covered by several instances show the mean of their colour positions. */
  private renderOverlapping(img: ImageData): void {
    const { cols, col, row } = this.grid;
    const span = this.span;
    const sum = new Float32Array(img.width * img.height);
    const count = new Uint16Array(img.width * img.height);
    for (let i = 0; i < this.t.length; i++) {
      const v = this.t[i];
      if (!(v >= this.threshold)) continue;
      for (let r = row[i]; r < row[i] + span; r++)
        for (let c = col[i], o = r * cols + c; c < col[i] + span; c++, o++) {
          sum[o] += v;
          count[o]++;
        }
    }
    const px = img.data;
    for (let o = 0; o < count.length; o++) {
      if (!count[o]) continue;
      const k = 3 * Math.round(255 * Math.min(1, Math.max(0, sum[o] / count[o])));
      px.set([LUT[k], LUT[k + 1], LUT[k + 2], 255], 4 * o);
    }
    this.cells.getContext('2d')!.putImageData(img, 0, 0);
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d')!;
    const { width, height } = this.canvas;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = this.style.empty;
    ctx.fillRect(0, 0, width, height);
    ctx.setTransform(this.view.k, 0, 0, this.view.k, this.view.tx, this.view.ty);
    if (this.underlay) ctx.drawImage(this.underlay, 0, 0, width, height);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = this.opacity;
    ctx.drawImage(this.cells, 0, 0, width, height);
    ctx.globalAlpha = 1;
    if (this.positives) {
      // Outlines inside each positive cell; at one or two pixels per cell a full frame would cover it, so a dot.
      ctx.strokeStyle = ctx.fillStyle = this.style.outline;
      const c = this.cell;
      const lw = Math.max(1, Math.round(c / 8));
      ctx.lineWidth = lw;
      ctx.beginPath();
      for (let i = 0; i < this.positives.length; i++) {
        if (!this.positives[i]) continue;
        const [x, y, side] = this.instanceRect(i);
        if (side >= 4) ctx.rect(x + lw / 2, y + lw / 2, side - lw, side - lw);
        else ctx.fillRect(x, y, side, side);
      }
      ctx.stroke();
    }
    if (this.hovered >= 0) {
      const [x, y, w, h] = this.instanceRect(this.hovered);
      ctx.strokeStyle = this.style.hover;
      ctx.lineWidth = Math.max(2, this.cell / 6);
      ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
    }
    ctx.restore();
    this.canvas.dataset.zoom = String(Number(this.view.k.toPrecision(4)));
  }
}

/** A CSS colour as "r,g,b" (what a canvas paints for it). */
function rgbOf(css: string): string {
  const c = document.createElement('canvas');
  c.width = c.height = 1;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
  return `${r},${g},${b}`;
}
