/**
 * Attention heatmap: each patch at its coordinates (instance order without them, as the static
 * copy), coloured by attention or by class-aware instance probability on a linear, percentile or
 * log scale (the same default as the static copy), known positive instances outlined, a threshold
 * and an opacity slider, hover for instance, score and rank, and — where instance labels exist —
 * ROC and precision–recall curves of the instance scores. Drawn on a canvas (heatmap.ts).
 */
import Plotly from 'plotly.js-dist-min';
import {
  type AttentionPayload,
  HEAT_SCALES,
  type HeatScale,
  MIN_CURVE_CLASS,
  cellGrid,
  defaultHeatScale,
  prCurve,
  rocCurve,
  scaleScores,
} from 'milkit/core';
import { el, slider, suppressShortcuts } from './dom.js';
import { describeBag, topInstances } from './format.js';
import { HeatmapCanvas } from './heatmap.js';
import { rankScores } from './ranking.js';
import { VizRenderer } from './renderer.js';
import { baseLayout, themeColors } from './theme.js';

type ScoreField = 'attention' | 'probability';
const SCORE_NAMES: Record<ScoreField, string> = { attention: 'attention', probability: 'instance probability' };
const CURVE_COLOURS: Record<ScoreField, string> = { attention: '#0072B2', probability: '#D55E00' };

export class AttentionRenderer extends VizRenderer<'attention'> {
  /** The reader's choices; kept across redraws of the same payload (a theme switch). */
  private state?: {
    payload: AttentionPayload;
    field: ScoreField;
    scale: HeatScale;
    threshold: number;
    opacity: number;
    outlines: boolean;
  };

  constructor() {
    super('attention');
  }

  protected async render(p: AttentionPayload): Promise<void> {
    const t0 = performance.now();
    const fields = (['attention', 'probability'] as const).filter((f) => p[f] !== undefined);
    if (this.state?.payload !== p)
      this.state = {
        payload: p,
        field: fields[0],
        scale: defaultHeatScale(p.n),
        threshold: 0,
        opacity: 1,
        outlines: true,
      };
    const st = this.state;
    const colors = themeColors(this.node);

    const header = el('div', 'milkit-header');
    header.append(el('span', 'milkit-title', p.title ?? `Bag ${p.bagId}`), el('span', 'milkit-meta', describeBag(p)));
    const controls = el('div', 'milkit-controls');
    const g = cellGrid(p.n, p.coords, p.patchSize);
    const heat = new HeatmapCanvas(g, { outline: colors.outline, hover: colors.font, empty: colors.empty });
    const bar = el('div', 'milkit-colourbar');
    const barLow = el('span', 'milkit-colourbar-low');
    const barHigh = el('span', 'milkit-colourbar-high');
    const ramp = el('canvas', 'milkit-colourbar-ramp');
    bar.append(barLow, ramp, barHigh);
    paintRamp(ramp);
    const tip = el('div', 'milkit-hover');
    const list = el('ol', 'milkit-toplist');
    const curves = el('div', 'milkit-plot milkit-instance-curves');

    let rank: Int32Array = new Int32Array(0);
    const recolour = () => {
      const scores = p[st.field]!;
      const scaled = scaleScores(scores, st.scale);
      barLow.textContent = scaled.low;
      barHigh.textContent = scaled.high;
      const ranked = rankScores(scores);
      rank = ranked.rank;
      heat.setScores(scaled.t, st.outlines ? p.instanceLabels : undefined);
      fillTopList(list, p, scores, ranked.order, SCORE_NAMES[st.field]);
    };
    heat.threshold = st.threshold;
    heat.opacity = st.opacity;

    if (fields.length > 1) {
      const toggle = el('div', 'milkit-toggle');
      for (const f of fields) {
        const b = suppressShortcuts(el('button', `milkit-toggle-${f}`, `colour by ${SCORE_NAMES[f]}`));
        b.type = 'button';
        b.setAttribute('aria-pressed', String(f === st.field));
        b.addEventListener('click', () => {
          st.field = f;
          toggle.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
          recolour();
        });
        toggle.append(b);
      }
      header.append(toggle);
    }
    const scaleRow = el('label', 'milkit-slider milkit-scale-row');
    const select = suppressShortcuts(el('select', 'milkit-scale'));
    for (const s of HEAT_SCALES) {
      const o = el('option', undefined, s === 'percentile' ? 'percentile rank' : s);
      o.value = s;
      select.append(o);
    }
    select.value = st.scale;
    select.addEventListener('change', () => {
      st.scale = select.value as HeatScale;
      recolour();
    });
    scaleRow.append(el('span', 'milkit-slider-label', 'colour scale'), select);
    controls.append(scaleRow);
    controls.append(
      slider('hide cells below (colour position)', 'milkit-slider-threshold', 0, 1, 0.01, st.threshold, (v) => {
        st.threshold = v;
        heat.setThreshold(v);
      }).wrap,
      slider('opacity', 'milkit-slider-opacity', 0.1, 1, 0.05, st.opacity, (v) => {
        st.opacity = v;
        heat.setOpacity(v);
      }).wrap,
    );
    if (p.instanceLabels) {
      const box = suppressShortcuts(el('input', 'milkit-outlines'));
      box.type = 'checkbox';
      box.checked = st.outlines;
      box.addEventListener('change', () => {
        st.outlines = box.checked;
        recolour();
      });
      const label = el('label', 'milkit-slider milkit-outlines-label');
      label.append(box, el('span', undefined, 'outline known positive instances'));
      controls.append(label);
    }

    heat.canvas.addEventListener('mousemove', (e) => {
      const r = heat.canvas.getBoundingClientRect();
      const i = heat.instanceAt(e.clientX - r.left, e.clientY - r.top);
      heat.setHover(i);
      if (i < 0) {
        tip.textContent = '';
        return;
      }
      const label = p.instanceLabels ? ` · instance label ${p.instanceLabels[i]}` : '';
      const at = p.coords ? ` at (${p.coords[2 * i]}, ${p.coords[2 * i + 1]})` : '';
      tip.textContent =
        `instance ${i}${at} · ${SCORE_NAMES[st.field]} ${p[st.field]![i].toPrecision(4)} ` +
        `· rank ${rank[i]} of ${p.n}${label}`;
    });
    heat.canvas.addEventListener('mouseleave', () => {
      heat.setHover(-1);
      tip.textContent = '';
    });

    const left = el('div', 'milkit-heatmap');
    left.append(heat.canvas, bar, tip);
    const body = el('div', 'milkit-body');
    body.append(left, list);
    this.node.append(header, controls, body);
    recolour();
    this.node.dataset.drawMs = (performance.now() - t0).toFixed(1);
    // Curves after the heatmap is on screen (plotly's first layout is the slow part).
    if (p.instanceLabels) await drawInstanceCurves(curves, p, fields, this.node);
    if (curves.childElementCount) this.node.append(curves);
  }
}

/** A 256-step viridis ramp for the colour bar. */
function paintRamp(c: HTMLCanvasElement): void {
  c.width = 256;
  c.height = 1;
  const t = new Float32Array(256).map((_, k) => k / 255);
  const heat = new HeatmapCanvas(
    { col: Int32Array.from({ length: 256 }, (_, k) => k), row: new Int32Array(256), cols: 256, rows: 1 },
    { outline: '#000', hover: '#000', empty: '#fff' },
    256,
  );
  heat.setScores(t);
  c.getContext('2d')!.drawImage(heat.canvas, 0, 0, 256, 1);
}

/** ROC and precision–recall of each score against the instance labels (both classes present in enough numbers). */
async function drawInstanceCurves(
  host: HTMLElement,
  p: AttentionPayload,
  fields: ScoreField[],
  themeHost: HTMLElement,
) {
  const labels = p.instanceLabels!;
  const pos = labels.filter((y) => y > 0).length;
  if (pos < MIN_CURVE_CLASS || labels.length - pos < MIN_CURVE_CLASS) return;
  const colors = themeColors(themeHost);
  const traces = fields.flatMap((f) => {
    const roc = rocCurve(labels, p[f]!);
    const pr = prCurve(labels, p[f]!);
    let auc = 0;
    for (let k = 1; k < roc.fpr.length; k++) auc += ((roc.fpr[k] - roc.fpr[k - 1]) * (roc.tpr[k] + roc.tpr[k - 1])) / 2;
    const line = { color: CURVE_COLOURS[f], width: 2 };
    return [
      {
        type: 'scatter',
        mode: 'lines',
        x: roc.fpr,
        y: roc.tpr,
        name: `${SCORE_NAMES[f]}: AUC ${auc.toFixed(3)}`,
        line,
        xaxis: 'x',
        yaxis: 'y',
      },
      {
        type: 'scatter',
        mode: 'lines',
        x: pr.recall,
        y: pr.precision,
        name: `${SCORE_NAMES[f]}: AP ${pr.averagePrecision.toFixed(3)}`,
        line: { ...line, dash: 'dot' },
        xaxis: 'x2',
        yaxis: 'y2',
      },
    ];
  });
  const axis = { gridcolor: colors.grid, zeroline: false, range: [0, 1] };
  await Plotly.react(
    host,
    traces,
    {
      ...baseLayout(colors),
      height: 300,
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { ...axis, title: { text: 'false positive rate' } },
      yaxis: { ...axis, title: { text: 'true positive rate' } },
      xaxis2: { ...axis, title: { text: 'recall' } },
      yaxis2: { ...axis, title: { text: 'precision' } },
      legend: { orientation: 'v', x: 1.02, y: 1, xanchor: 'left' },
      margin: { l: 50, r: 10, t: 30, b: 45 },
      title: {
        text: 'instance scores vs known instance labels: ROC (left), precision–recall (right)',
        font: { size: 12 },
      },
    },
    { responsive: true, displaylogo: false },
  );
}

function fillTopList(
  list: HTMLOListElement,
  p: AttentionPayload,
  scores: number[],
  order: Int32Array,
  name: string,
): void {
  list.replaceChildren(el('li', 'milkit-toplist-head', `top ${p.top} by ${name}`));
  for (const line of topInstances(p, scores, order)) list.append(el('li', 'milkit-toplist-item', line));
}
