/**
 * Where each instance sits in the masking preview's cell grid (pure): patch coordinates divided by
 * the patch size, or, without coordinates, rank order (highest score first) in rows of a strip.
 */
import type { MaskingPayload } from 'milkit/core';
import { rankScores } from './ranking.js';

export interface CellLayout {
  /** Cell column and row per instance. */
  col: Int32Array;
  row: Int32Array;
  cols: number;
  rows: number;
}

/** Grid cells: patch coordinates divided by the patch size, or rank order in rows of a strip. */
export function layoutCells(p: Pick<MaskingPayload, 'n' | 'coords' | 'patchSize' | 'scores'>): CellLayout {
  const col = new Int32Array(p.n);
  const row = new Int32Array(p.n);
  if (p.coords) {
    const step = p.patchSize ?? 1;
    let minX = Infinity;
    let minY = Infinity;
    for (let i = 0; i < p.n; i++) {
      minX = Math.min(minX, p.coords[2 * i]);
      minY = Math.min(minY, p.coords[2 * i + 1]);
    }
    let cols = 0;
    let rows = 0;
    for (let i = 0; i < p.n; i++) {
      col[i] = Math.round((p.coords[2 * i] - minX) / step);
      row[i] = Math.round((p.coords[2 * i + 1] - minY) / step);
      cols = Math.max(cols, col[i] + 1);
      rows = Math.max(rows, row[i] + 1);
    }
    return { col, row, cols, rows };
  }
  const cols = Math.min(p.n, Math.max(10, Math.ceil(Math.sqrt(p.n * 4))));
  const { rank } = rankScores(p.scores);
  for (let i = 0; i < p.n; i++) {
    col[i] = (rank[i] - 1) % cols;
    row[i] = Math.floor((rank[i] - 1) / cols);
  }
  return { col, row, cols, rows: Math.ceil(p.n / cols) };
}

/** Pixels per cell: the whole grid fits about 480 px, cells between 1 and 24 px. */
export function cellPixels(g: Pick<CellLayout, 'cols' | 'rows'>): number {
  return Math.max(1, Math.min(24, Math.floor(480 / Math.max(g.cols, g.rows))));
}
