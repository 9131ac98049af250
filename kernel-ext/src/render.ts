/**
 * Static fallbacks of every milkit view: self-contained HTML (inline SVG) and text/plain, built
 * from the very payload the JupyterLab plugin renders, so both always show the same data.
 */
import {
  type AttentionPayload,
  MASK_STATUS,
  MASK_STATUS_NAMES,
  type MaskStatus,
  type MaskingPayload,
  type ResultsPayload,
  type TrainingPayload,
  type TrainingProgress,
  formatCell,
  previewMask,
  rankInstances,
} from 'milkit/core';
import { cellGrid, colourBar, esc, fmt, frame, gridSvg, swatch, table, viridis } from './svg';

export interface Fallback {
  html: string;
  text: string;
}

/** Percentile rank in [0, 1] of each score (ties share the lower rank), the CLAM heatmap convention. */
function percentiles(scores: number[]): number[] {
  const order = rankInstances(scores).reverse();
  const out = new Array<number>(scores.length);
  const denom = Math.max(1, scores.length - 1);
  let r = 0;
  order.forEach((i, k) => {
    if (k === 0 || scores[i] !== scores[order[k - 1]]) r = k;
    out[i] = r / denom;
  });
  return out;
}

/** [min, max] without spreading (bags may hold 50,000 values). */
function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Bags up to this size colour attention and probability linearly; larger ones by percentile. */
export const SMALL_BAG = 64;

export function renderAttention(p: AttentionPayload): Fallback {
  const g = cellGrid(p.n, p.coords, p.patchSize);
  const positive = p.instanceLabels ? (i: number) => p.instanceLabels![i] > 0 : undefined;
  const panels: string[] = [];
  const maps: [string, number[], number[], string, string][] = [];
  // Small bags: colour ∝ weight (a dominant instance stands out); large bags: percentile rank, the
  // CLAM heatmap convention, since softmax weights over thousands of patches are mostly near 0.
  if (p.attention && p.n <= SMALL_BAG) {
    const max = extent(p.attention)[1] || 1;
    maps.push(['attention (weight ÷ max)', p.attention, p.attention.map((a) => a / max), '0', fmt(max, 3)]);
  } else if (p.attention) maps.push(['attention (percentile)', p.attention, percentiles(p.attention), '0%', '100%']);
  if (p.probability && p.n <= SMALL_BAG) {
    // Stretch over the bag's own range: class-aware probabilities (a max over classes) never go below 1/C.
    const [lo, hi] = extent(p.probability);
    maps.push([
      'instance probability',
      p.probability,
      p.probability.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 1)),
      fmt(lo, 3),
      fmt(hi, 3),
    ]);
  } else if (p.probability) {
    // Large bags: by percentile like attention; a linear stretch lets a few outliers flatten the rest to one colour.
    maps.push(['instance probability (percentile)', p.probability, percentiles(p.probability), '0%', '100%']);
  }
  for (const [name, , t, lo, hi] of maps) {
    const svg = gridSvg(g, (i) => viridis(t[i]), { outline: positive, labels: true, title: `${name}, bag ${p.bagId}` });
    panels.push(
      `<div style="display:inline-block;vertical-align:top;margin-right:16px"><div>${esc(name)}</div>${svg}<div>${colourBar(lo, hi)}</div></div>`,
    );
  }
  const primary = p.attention ?? p.probability!;
  const top = rankInstances(primary).slice(0, p.top);
  const head = [
    'rank',
    'instance',
    ...(p.attention ? ['attention'] : []),
    ...(p.probability ? ['probability'] : []),
    ...(p.coords ? ['x', 'y'] : []),
    ...(p.instanceLabels ? ['instance label'] : []),
  ];
  const rows = top.map((i, r) => [
    String(r + 1),
    String(i),
    ...(p.attention ? [fmt(p.attention[i])] : []),
    ...(p.probability ? [fmt(p.probability[i])] : []),
    ...(p.coords ? [String(p.coords[2 * i]), String(p.coords[2 * i + 1])] : []),
    ...(p.instanceLabels ? [String(p.instanceLabels[i])] : []),
  ]);
  const layout = g.ordered
    ? 'no coordinates: cells in instance order'
    : `patch grid ${g.cols}×${g.rows}, step ${p.patchSize}`;
  const info = `bag <b>${esc(p.bagId)}</b>${p.bagLabel !== undefined ? `, label ${p.bagLabel}` : ''}, ${p.n} instances${bagProbText(p)} · ${layout}${positive ? ' · <span style="color:#e8175d">□</span> known positive instance' : ''}`;
  const html = frame(
    p.title ?? `Attention: bag ${p.bagId}`,
    `<div>${info}</div>${panels.join('')}${table(head, rows)}`,
  );
  const text = [
    `${p.title ?? 'attention'}: bag ${p.bagId}${p.bagLabel !== undefined ? ` (label ${p.bagLabel})` : ''}, ${p.n} instances${bagProbText(p).replace(/<[^>]+>/g, '')}`,
    `top ${top.length} by ${p.attention ? 'attention' : 'probability'}: ${top.map((i) => `#${i}=${fmt(primary[i], 3)}`).join(', ')}`,
  ].join('\n');
  return { html, text };
}

function bagProbText(p: AttentionPayload): string {
  return p.bagProbabilities ? `, predicted P = [${p.bagProbabilities.map((x) => fmt(x, 3)).join(', ')}]` : '';
}

export const STATUS_COLOURS: Record<MaskStatus, string> = {
  [MASK_STATUS.kept]: '#4c78a8',
  [MASK_STATUS.high]: '#f58518',
  [MASK_STATUS.random]: '#b279a2',
  [MASK_STATUS.low]: '#54a24b',
  [MASK_STATUS.recycled]: '#9ecae9',
};

export function renderMasking(p: MaskingPayload): Fallback {
  const preview = previewMask(p.scores, p.settings);
  const g = cellGrid(p.n, p.coords, p.patchSize);
  const svg = gridSvg(g, (i) => STATUS_COLOURS[preview.status[i] as MaskStatus], {
    labels: true,
    title: `masking preview, bag ${p.bagId}`,
  });
  const s = p.settings;
  const usesHigh = s.strategy === 'hsm' || s.strategy === 'rhsm' || s.strategy === 'combined';
  const ratios = [
    usesHigh
      ? `βh ${fmt(s.highRatio, 3)}${s.decay ? ` → ${fmt(preview.config.highRatio, 3)} after cosine decay at ${Math.round(100 * s.progress)}% of training` : ''}`
      : '',
    s.strategy === 'rhsm' || s.strategy === 'combined' ? `r ${fmt(s.highRandomRatio, 3)}` : '',
    s.strategy === 'lsm' || s.strategy === 'combined' ? `βl ${fmt(s.lowRatio, 3)}` : '',
    s.strategy === 'rsm' || s.strategy === 'combined' ? `random ${fmt(s.randomRatio, 3)}` : '',
    s.recycleKeepRatio !== undefined ? `GRN keeps ${fmt(s.recycleKeepRatio, 3)}` : '',
    `seed ${s.seed}`,
  ].filter(Boolean);
  const names = Object.keys(MASK_STATUS) as (keyof typeof MASK_STATUS)[];
  const legend = names
    .filter((k) => preview.counts[k] > 0 || k === 'kept' || (k === 'high' && usesHigh))
    .map((k) => swatch(STATUS_COLOURS[MASK_STATUS[k]], `${MASK_STATUS_NAMES[MASK_STATUS[k]]}: ${preview.counts[k]}`))
    .join('');
  const info = `bag <b>${esc(p.bagId)}</b>, ${p.n} instances, ${p.scoreKind} scores · strategy <b>${s.strategy.toUpperCase()}</b> · ${ratios.map(esc).join(' · ')}`;
  const html = frame(
    p.title ?? `Masking preview: bag ${p.bagId}`,
    `<div>${info}</div>${svg}<div style="margin-top:4px">${legend}</div>`,
  );
  const counts = names
    .filter((k) => preview.counts[k] > 0)
    .map((k) => `${k} ${preview.counts[k]}`)
    .join(', ');
  const text = `${p.title ?? 'masking preview'}: bag ${p.bagId}, ${p.n} instances, ${s.strategy.toUpperCase()} (${ratios.join(', ')}): ${counts}`;
  return { html, text };
}

const SPLIT_COLOURS = { train: '#4c78a8', val: '#f58518', test: '#54a24b' } as const;

export function progressLine(pr: TrainingProgress): string {
  const parts = [
    pr.folds ? `fold ${(pr.fold ?? 0) + 1}/${pr.folds}` : '',
    `epoch ${pr.epoch}/${pr.epochs}`,
    pr.steps ? `${pr.step ?? 0}/${pr.steps} bags` : '',
    pr.rate ? `${fmt(pr.rate, 3)} bags/s` : '',
    `${duration(pr.elapsedSeconds)} elapsed`,
    pr.etaSeconds !== undefined ? `ETA ${duration(pr.etaSeconds)}` : '',
    pr.message ?? '',
  ];
  return parts.filter(Boolean).join(' · ');
}

function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/** One small line chart per metric; colour = split, one line per fold. */
function curvePanel(metric: string, series: TrainingPayload['series']): string {
  const W = 260;
  const H = 150;
  const L = 42;
  const B = 22;
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - 8);
  const sy = (y: number) => 8 + (1 - (y - y0) / (y1 - y0)) * (H - B - 8);
  const lines = series.map((s) => {
    const pts = s.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.y[i]).toFixed(1)}`).join(' ');
    const c = SPLIT_COLOURS[s.split];
    return s.x.length === 1
      ? `<circle cx="${sx(s.x[0]).toFixed(1)}" cy="${sy(s.y[0]).toFixed(1)}" r="2.5" fill="${c}"/>`
      : `<polyline fill="none" stroke="${c}" stroke-width="1.5" stroke-opacity="${s.fold === undefined ? 1 : 0.75}" points="${pts}"/>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10" style="margin-right:10px">` +
    `<rect x="${L}" y="8" width="${W - L - 8}" height="${H - B - 8}" fill="none" stroke="#aaa"/>` +
    `<text x="${L - 3}" y="14" text-anchor="end" fill="currentColor">${esc(fmt(y1, 3))}</text>` +
    `<text x="${L - 3}" y="${H - B}" text-anchor="end" fill="currentColor">${esc(fmt(y0, 3))}</text>` +
    `<text x="${L}" y="${H - 8}" fill="currentColor">${esc(fmt(x0, 3))}</text>` +
    `<text x="${W - 8}" y="${H - 8}" text-anchor="end" fill="currentColor">epoch ${esc(fmt(x1, 3))}</text>` +
    `<text x="${(L + W) / 2}" y="${H - 8}" text-anchor="middle" font-weight="bold" fill="currentColor">${esc(metric)}</text>` +
    `${lines.join('')}</svg>`
  );
}

export function renderTraining(p: TrainingPayload): Fallback {
  const metrics = [...new Set(p.series.map((s) => s.metric))];
  const panels = metrics
    .map((m) =>
      curvePanel(
        m,
        p.series.filter((s) => s.metric === m && s.x.length > 0),
      ),
    )
    .join('');
  const splits = [...new Set(p.series.map((s) => s.split))];
  const legend = splits.map((s) => swatch(SPLIT_COLOURS[s], s)).join('');
  const progress = p.progress ? progressLine(p.progress) : '';
  const status = p.done ? 'finished' : 'training…';
  const summary = p.summary ? renderResults(p.summary) : undefined;
  const html = frame(
    p.title ?? 'Training',
    `<div>${esc(status)}${progress ? ` · ${esc(progress)}` : ''}</div><div>${panels}</div><div>${legend}</div>${summary ? summary.html : ''}`,
  );
  // The text line reports the latest fold only (a 5 × 10-fold run would otherwise print 50 of each).
  const lastFold = Math.max(-1, ...p.series.map((s) => s.fold ?? -1));
  const last = p.series
    .filter((s) => (s.fold ?? -1) === lastFold)
    .map(
      (s) =>
        `${s.fold !== undefined ? `fold ${s.fold + 1} ` : ''}${s.split} ${s.metric} ${fmt(s.y[s.y.length - 1] ?? NaN, 4)}`,
    );
  const text = [
    `${p.title ?? 'training'}: ${status}${progress ? ` · ${progress}` : ''}`,
    last.length ? `last: ${last.join(', ')}` : '',
    summary ? summary.text : '',
  ]
    .filter(Boolean)
    .join('\n');
  return { html, text };
}

export function renderResults(p: ResultsPayload): Fallback {
  const best = new Set<string>();
  p.columns.forEach((_, j) => {
    const higher = p.higherIsBetter?.[j] ?? true;
    let bi = -1;
    p.rows.forEach((r, i) => {
      const c = r.cells[j];
      if (
        c &&
        Number.isFinite(c.mean) &&
        (bi < 0 || (higher ? c.mean > p.rows[bi].cells[j]!.mean : c.mean < p.rows[bi].cells[j]!.mean))
      )
        bi = i;
    });
    if (bi >= 0 && p.rows.length > 1) best.add(`${bi},${j + 1}`);
  });
  const rows = p.rows.map((r) => [r.label, ...r.cells.map((c) => formatCell(c))]);
  const caption = p.caption ? `<div style="margin-top:4px;color:#666">${esc(p.caption)}</div>` : '';
  const html = frame(p.title, table(['', ...p.columns], rows, { boldCells: best }) + caption);
  const widths = [0, ...p.columns.map((_, j) => j + 1)].map((j) =>
    Math.max(...[j === 0 ? '' : p.columns[j - 1], ...rows.map((r) => r[j])].map((s) => s.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, j) => c.padEnd(widths[j]))
      .join('  ')
      .trimEnd();
  const text = [p.title ?? '', line(['', ...p.columns]), ...rows.map(line), p.caption ?? ''].filter(Boolean).join('\n');
  return { html, text };
}
