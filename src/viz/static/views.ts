/**
 * Static renderings of milkit's views, built from the very payload the JupyterLab plugin renders,
 * so both always show the same data: here the shared shell (figure, HTML around it) and the
 * attention heatmap and masking preview; the training view and the results table live beside it
 * (trainingView.ts, resultsView.ts). Each gives one SVG figure (white background, axis titles,
 * colour-blind-safe colours), the HTML around it (info line, tables, legends) and a text/plain
 * summary. Callers decide how the figure travels: the notebook kernel rasterises it to PNG
 * (untrusted notebooks and GitHub strip SVG), `milkit report` inlines the SVG.
 */
import { rocCurve, prCurve } from '../../metrics/curves';
import type { AttentionPayload } from '../attention';
import { rankInstances } from '../attention';
import {
  MASK_STATUS,
  MASK_STATUS_NAMES,
  type MaskStatus,
  type MaskingPayload,
  highRatioCurve,
  maskingSettingsLabel,
  previewMask,
} from '../masking';
import { type HeatScale, defaultHeatScale, scaleScores } from '../scale';
import { type Chart, chartRow, lineChart } from './chart';
import {
  MUTED,
  OKABE_ITO,
  POSITIVE_OUTLINE,
  cellGrid,
  cellSize,
  colourBarGroup,
  esc,
  fmt,
  frame,
  gridGroup,
  svgDoc,
  swatch,
  table,
  textWidth,
  viridis,
} from './svg';

export interface StaticFigure {
  /** A complete SVG document. */
  svg: string;
  width: number;
  height: number;
  /** Alternative text (what the figure shows, in one sentence). */
  alt: string;
}

export interface StaticView {
  title?: string;
  figure?: StaticFigure;
  /**
   * The HTML already shows what the figure shows, as text (a table one can copy numbers from): the
   * figure is then only for viewers that show images alone (PNG-only exports), not drawn in the HTML.
   */
  htmlShowsFigure?: boolean;
  /** HTML above and below the figure. */
  before: string;
  after: string;
  text: string;
}

/** The view as one HTML block, the figure given as HTML (an <img> of its PNG, or the inline SVG). */
export function staticHtml(v: StaticView, figureHtml = (!v.htmlShowsFigure && v.figure?.svg) || ''): string {
  // A figure carries its own title (so it reads alone, e.g. as a PNG on GitHub): the frame need not repeat it.
  return frame(
    figureHtml ? undefined : v.title,
    `${v.before}${figureHtml ? `<div style="margin:4px 0">${figureHtml}</div>` : ''}${v.after}`,
  );
}

/**
 * A figure document: the title on top (an image shown on its own, e.g. on GitHub, still says what
 * it is), then the body, then an optional legend row of colour swatches.
 */
export function staticFigure(
  body: Chart,
  alt: string,
  title?: string,
  legend: { colour: string; label: string }[] = [],
): StaticFigure {
  const pad = 8;
  const head = title ? 24 : 0;
  let x = 0;
  const items = legend.map((e) => {
    const item =
      `<g transform="translate(${x} 0)"><rect width="12" height="12" fill="${e.colour}" stroke="#888" ` +
      `stroke-width="0.5"/><text x="17" y="10.5" font-size="11">${esc(e.label)}</text></g>`;
    x += 30 + textWidth(e.label, 11);
    return item;
  });
  const legendH = legend.length ? 24 : 0;
  const width = Math.max(body.width, x, title ? textWidth(title, 13) : 0) + 2 * pad;
  const height = head + body.height + legendH + 2 * pad;
  const svg = svgDoc(
    width,
    height,
    (title ? `<text x="${pad}" y="${pad + 13}" font-size="13" font-weight="bold">${esc(title)}</text>` : '') +
      `<g transform="translate(${pad} ${pad + head})">${body.svg}</g>` +
      (legend.length ? `<g transform="translate(${pad} ${pad + head + body.height + 10})">${items.join('')}</g>` : ''),
    title,
  );
  return { svg, width: Math.ceil(width), height: Math.ceil(height), alt };
}

// ---------------------------------------------------------------------------------------------
// Attention heatmap

const SCALE_NAMES: Record<HeatScale, string> = { linear: 'linear', percentile: 'percentile rank', log: 'log scale' };

/** One heatmap panel: the bag's cells coloured by `scores`, known positives outlined, a colour bar below. */
export function heatmapPanel(
  p: Pick<AttentionPayload, 'n' | 'coords' | 'patchSize' | 'instanceLabels' | 'bagId'>,
  scores: ArrayLike<number>,
  name: string,
  scale: HeatScale,
): Chart {
  const g = cellGrid(p.n, p.coords, p.patchSize);
  const cell = cellSize(g, 360);
  const scaled = scaleScores(scores, scale);
  const w = g.cols * cell;
  const h = g.rows * cell;
  const positive = p.instanceLabels ? (i: number) => p.instanceLabels![i] > 0 : undefined;
  const heading = `${name} (${SCALE_NAMES[scale]})`;
  const barW = Math.max(160, Math.min(260, w));
  const svg =
    `<text y="12" font-weight="bold">${esc(heading)}</text>` +
    gridGroup(g, (i) => viridis(scaled.t[i]), {
      y: 20,
      cell,
      outline: positive,
      labels: true,
      title: `${heading}, bag ${p.bagId}`,
    }) +
    colourBarGroup(0, 28 + h, barW, scaled.low, scaled.high);
  return { svg, width: Math.max(w, barW, textWidth(heading, 12)), height: 28 + h + 28 };
}

/** Instance ROC / precision–recall curves are drawn when each class has at least this many instances. */
export const MIN_CURVE_CLASS = 5;

/** ROC and precision–recall panels of instance scores against known instance labels (both classes present). */
export function instanceCurvePanels(
  labels: ArrayLike<number>,
  maps: { name: string; scores: ArrayLike<number>; colour: string }[],
  what = 'instance',
): Chart[] {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] > 0 ? 1 : 0;
  // A curve through two or three points says nothing a reader can use.
  if (pos < MIN_CURVE_CLASS || labels.length - pos < MIN_CURVE_CLASS) return [];
  const rocs = maps.map((m) => ({ ...m, roc: rocCurve(labels, m.scores), pr: prCurve(labels, m.scores) }));
  const auc = (fpr: number[], tpr: number[]) =>
    fpr.reduce((a, f, k) => (k ? a + ((f - fpr[k - 1]) * (tpr[k] + tpr[k - 1])) / 2 : 0), 0);
  const roc = lineChart(
    rocs.map((m) => ({
      name: `${m.name}, AUC ${auc(m.roc.fpr, m.roc.tpr).toFixed(3)}`,
      colour: m.colour,
      x: m.roc.fpr,
      y: m.roc.tpr,
    })),
    {
      width: 190,
      height: 190,
      title: `ROC, ${what}s`,
      xLabel: 'false positive rate',
      yLabel: 'true positive rate',
      xDomain: [0, 1],
      yDomain: [0, 1],
      diagonal: true,
    },
  );
  const prevalence = pos / labels.length;
  const pr = lineChart(
    [
      ...rocs.map((m) => ({
        name: `${m.name}, AP ${m.pr.averagePrecision.toFixed(3)}`,
        colour: m.colour,
        x: m.pr.recall,
        y: m.pr.precision,
      })),
      {
        name: `chance (${fmt(prevalence, 2)})`,
        colour: MUTED,
        x: [0, 1],
        y: [prevalence, prevalence],
        dash: '4 3',
        width: 1,
      },
    ],
    {
      width: 190,
      height: 190,
      title: `precision–recall, ${what}s`,
      xLabel: 'recall',
      yLabel: 'precision',
      xDomain: [0, 1],
      yDomain: [0, 1],
    },
  );
  return [roc, pr];
}

export function renderAttention(p: AttentionPayload, opts: { scale?: HeatScale } = {}): StaticView {
  const scale = opts.scale ?? defaultHeatScale(p.n);
  const maps: { name: string; scores: number[]; colour: string }[] = [];
  if (p.attention) maps.push({ name: 'attention', scores: p.attention, colour: OKABE_ITO.blue });
  if (p.probability) maps.push({ name: 'instance probability', scores: p.probability, colour: OKABE_ITO.vermillion });
  const heat = chartRow(
    maps.map((m) => heatmapPanel(p, m.scores, m.name, scale)),
    2,
    24,
  );
  const curves = p.instanceLabels ? instanceCurvePanels(p.instanceLabels, maps) : [];
  const body = curves.length ? chartRow([heat, chartRow(curves, 2, 24)], 1, 16) : heat;
  const grid = cellGrid(p.n, p.coords, p.patchSize);
  const layout = grid.ordered
    ? 'no coordinates: cells in instance order (number = instance)'
    : `patch grid ${grid.cols}×${grid.rows}, step ${p.patchSize}`;
  const title = p.title ?? `Attention: bag ${p.bagId}`;
  const fig = staticFigure(
    body,
    `${maps.map((m) => m.name).join(' and ')} of the ${p.n} instances of bag ${p.bagId} as a heatmap` +
      `${p.instanceLabels ? ', known positives outlined, with instance ROC and precision–recall curves' : ''}`,
    title,
    p.instanceLabels ? [{ colour: POSITIVE_OUTLINE, label: 'outlined: known positive instance' }] : [],
  );
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
  const known = p.instanceLabels ? ` · <span style="color:${POSITIVE_OUTLINE}">□</span> known positive instance` : '';
  const before =
    `<div>bag <b>${esc(p.bagId)}</b>${p.bagLabel !== undefined ? `, label ${p.bagLabel}` : ''}, ${p.n} ` +
    `instances${bagProbText(p)} · ${esc(layout)}${known}</div>`;
  const text = [
    `${title}: bag ${p.bagId}${p.bagLabel !== undefined ? ` (label ${p.bagLabel})` : ''}, ${p.n} ` +
      `instances${bagProbText(p)}`,
    `top ${top.length} by ${p.attention ? 'attention' : 'probability'}` +
      `: ${top.map((i) => `#${i}=${fmt(primary[i], 3)}`).join(', ')}`,
  ].join('\n');
  return { title, figure: fig, before, after: table(head, rows), text };
}

function bagProbText(p: AttentionPayload): string {
  return p.bagProbabilities ? `, predicted P = [${p.bagProbabilities.map((x) => fmt(x, 3)).join(', ')}]` : '';
}

// ---------------------------------------------------------------------------------------------
// Masking preview

/** Status colours on white: each masked status ≥ 3:1 against the kept cells' mid grey. */
export const STATUS_COLOURS: Record<MaskStatus, string> = {
  [MASK_STATUS.kept]: '#adb5bd',
  [MASK_STATUS.high]: '#d9480f',
  [MASK_STATUS.random]: '#6741d9',
  [MASK_STATUS.low]: '#0c8599',
  [MASK_STATUS.recycled]: '#2b8a3e',
};

/** Kept cells are shaded by teacher score (light = low, dark = high), so the reason for each mask shows. */
export function keptShade(t: number): string {
  const v = Math.round(233 - 120 * Math.min(1, Math.max(0, t)));
  return `rgb(${v},${v + 3},${v + 6})`;
}

export function renderMasking(p: MaskingPayload): StaticView {
  const preview = previewMask(p.scores, p.settings);
  const g = cellGrid(p.n, p.coords, p.patchSize);
  const cell = cellSize(g, 360);
  const t = scaleScores(p.scores, 'percentile').t;
  const grid = gridGroup(
    g,
    (i) => (preview.status[i] === MASK_STATUS.kept ? keptShade(t[i]) : STATUS_COLOURS[preview.status[i] as MaskStatus]),
    { y: 4, cell, labels: true, title: `masking preview, bag ${p.bagId}` },
  );
  const panels: Chart[] = [{ svg: grid, width: g.cols * cell, height: g.rows * cell + 8 }];
  const s = p.settings;
  const usesHigh = s.strategy === 'hsm' || s.strategy === 'rhsm' || s.strategy === 'combined';
  if (usesHigh) {
    const curve = highRatioCurve(s);
    panels.push(
      lineChart(
        [
          {
            name: s.decay ? 'βh, cosine decay' : 'βh (no decay)',
            colour: OKABE_ITO.blue,
            x: curve.x.map((x) => 100 * x),
            y: curve.y,
          },
          {
            name: 'now',
            colour: STATUS_COLOURS[MASK_STATUS.high],
            x: [100 * s.progress],
            y: [preview.config.highRatio],
            markers: true,
          },
        ],
        {
          width: 200,
          height: 150,
          title: 'high-score mask ratio',
          xLabel: 'training progress (%)',
          yLabel: 'βh',
          xDomain: [0, 100],
          yDomain: [0, Math.max(1e-6, s.highRatio) * 1.1],
        },
      ),
    );
  }
  const names = Object.keys(MASK_STATUS) as (keyof typeof MASK_STATUS)[];
  const label = maskingSettingsLabel(s);
  const title = p.title ? `${p.title} (${label})` : `Masking preview, bag ${p.bagId}: ${label}`;
  const shown = names.filter((k) => preview.counts[k] > 0 || k === 'kept' || (k === 'high' && usesHigh));
  const fig = staticFigure(
    chartRow(panels, 2, 24),
    `masking of the ${p.n} instances of bag ${p.bagId}: ${label}`,
    title,
    shown.map((k) => ({
      colour: k === 'kept' ? keptShade(0.5) : STATUS_COLOURS[MASK_STATUS[k]],
      label:
        `${k === 'kept' ? 'kept (darker = higher score)' : MASK_STATUS_NAMES[MASK_STATUS[k]]}` +
        `: ${preview.counts[k]}`,
    })),
  );
  const legend =
    shown
      .map((k) =>
        swatch(
          k === 'kept' ? keptShade(0.5) : STATUS_COLOURS[MASK_STATUS[k]],
          `${MASK_STATUS_NAMES[MASK_STATUS[k]]}: ${preview.counts[k]}`,
        ),
      )
      .join('') + `<span style="color:${MUTED}">kept cells: darker = higher ${esc(p.scoreKind)} score</span>`;
  const before = `<div>bag <b>${esc(p.bagId)}</b>, ${p.n} instances, ${esc(p.scoreKind)} scores</div>`;
  const counts = names
    .filter((k) => preview.counts[k] > 0)
    .map((k) => `${k} ${preview.counts[k]}`)
    .join(', ');
  const text = `${title}: bag ${p.bagId}, ${p.n} instances: ${counts}`;
  return { title, figure: fig, before, after: `<div style="margin-top:4px">${legend}</div>`, text };
}
