/**
 * The slide view's cell grid (pure): the slide cut into cells of the tiling's step, so patches
 * tiled with overlap (a step smaller than the patch) or from a grid not anchored at (0, 0) each
 * cover their own cells and sit exactly over their tissue. A patch spans `span` × `span` cells;
 * where patches overlap, a cell shows the mean of their colours (as `milkit heatmap` does).
 */

export interface SlideGrid {
  /** Each patch's top-left cell. */
  col: Int32Array;
  row: Int32Array;
  cols: number;
  rows: number;
  /** Cells per patch side. */
  span: number;
  /** Level-0 pixels per cell side, and the level-0 position of cell (0, 0)'s corner. */
  step: number;
  origin: [number, number];
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Finest cell as a fraction of the patch side: coordinates off every grid snap to 1/16 patch. */
const MIN_CELL_FRACTION = 16;
/** Most cells (one bitmap pixel each): a coarser step beyond, whatever the tiling. */
const MAX_CELLS = 2 ** 22;

export function slideGrid(
  coords: ArrayLike<number>,
  patchSize: number,
  slide: { width: number; height: number },
): SlideGrid {
  const n = Math.floor(coords.length / 2);
  let [minX, minY] = [Infinity, Infinity];
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, coords[2 * i]);
    minY = Math.min(minY, coords[2 * i + 1]);
  }
  if (!n) [minX, minY] = [0, 0];
  // The step: the largest cell that every patch position and the patch side are whole multiples of.
  let step = Math.round(patchSize);
  for (let i = 0; i < n && step > 1; i++)
    step = gcd(step, gcd(Math.abs(Math.round(coords[2 * i] - minX)), Math.abs(Math.round(coords[2 * i + 1] - minY))));
  step = Math.max(step, patchSize / MIN_CELL_FRACTION);
  while ((slide.width / step) * (slide.height / step) > MAX_CELLS) step *= 2;
  const span = Math.max(1, Math.round(patchSize / step));
  // Cell (0, 0) starts where the tiling grid, extended left and up, meets the slide's corner.
  const origin: [number, number] = [minX - step * Math.floor(minX / step), minY - step * Math.floor(minY / step)];
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  let cols = Math.max(1, Math.ceil((slide.width - origin[0]) / step));
  let rows = Math.max(1, Math.ceil((slide.height - origin[1]) / step));
  for (let i = 0; i < n; i++) {
    col[i] = Math.max(0, Math.round((coords[2 * i] - origin[0]) / step));
    row[i] = Math.max(0, Math.round((coords[2 * i + 1] - origin[1]) / step));
    cols = Math.max(cols, col[i] + span);
    rows = Math.max(rows, row[i] + span);
  }
  return { col, row, cols, rows, span, step, origin };
}
