/**
 * The run report as one self-contained HTML file: inline SVG figures (readable with JavaScript off,
 * in any browser, in a mail attachment), no external resources, and a few lines of inline script
 * that add the choices (metric, heatmap scale) where JavaScript runs. Without it every metric's
 * panel and each heatmap at its default scale are shown.
 */
import { rocCurve, prCurve } from '../metrics/curves';
import { HEAT_SCALES, type HeatScale, defaultHeatScale } from '../viz/scale';
import { type Chart, type ChartSeries, lineChart } from '../viz/static/chart';
import { INK, MUTED, OKABE_ITO, esc, fmt, svgDoc, textWidth } from '../viz/static/svg';
import { SPLIT_COLOURS, metricLabel, trainingPanels } from '../viz/static/trainingView';
import { renderAttention, staticHtml } from '../viz/static/views';
import type { TrainingSeries } from '../viz/training';
import type { ReportData } from './collect';

const svgOf = (c: Chart) => svgDoc(c.width + 16, c.height + 16, `<g transform="translate(8 8)">${c.svg}</g>`);

/** Headline metrics first, then the rest the run recorded. */
const ORDER = ['auc', 'accuracy', 'balancedAccuracy', 'f1', 'kappa', 'accuracyYouden', 'f1Youden', 'cIndex', 'loss'];

function summaryTable(d: ReportData): string {
  const s = d.run.summary;
  const names = [...ORDER.filter((m) => m in s), ...Object.keys(s).filter((m) => !ORDER.includes(m))];
  const rows = names.map((m) => {
    const ci = d.intervals[m];
    const n = s[m].n;
    const at = d.pooled[m];
    return (
      `<tr><th>${esc(metricLabel(m))}</th><td>${fmt(s[m].mean, 3)}${n > 1 ? ` ± ${fmt(s[m].sd, 2)}` : ''}` +
      `</td><td>${n}</td><td>${at !== undefined ? at.toFixed(3) : ''}</td>` +
      `<td>${ci ? `${ci.lower.toFixed(3)} – ${ci.upper.toFixed(3)}` : ''}</td></tr>`
    );
  });
  const pooled = d.predictions.reduce((a, p) => a + p.labels.length, 0);
  const mean = `mean${d.run.folds.length > 1 ? ' ± sd over folds' : ''}`;
  return (
    `<table class="summary"><thead><tr><th>metric</th><th>${mean}</th><th>folds</th><th>pooled test bags</th>` +
    `<th>95 % CI</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    (`<p class="note">Pooled test bags: the metric on the ${pooled} test bags of all folds together; ` +
      `95 % CI: percentile bootstrap (1000 resamples, seed 0) over those bags` +
      `${d.predictions.length ? '' : ' (not available: no test predictions recorded)'}; `) +
    (`accuracy, balanced accuracy and F1 at argmax; "Youden" metrics at the threshold fitted ` +
      `on each fold's ${d.run.config.selectOn === 'val' ? 'validation' : 'training'} bags.</p>`)
  );
}

/**
 * Per-fold training curves from the recorded history: training loss, and validation metrics where there was a
 * validation set.
 */
function historySeries(d: ReportData): TrainingSeries[] {
  const series: TrainingSeries[] = [];
  const many = d.run.folds.length > 1;
  d.run.folds.forEach((f, k) => {
    const fold = many ? k : undefined;
    const at = (split: 'train' | 'val', metric: string, pts: [number, number][]) => {
      const ok = pts.filter(([, y]) => Number.isFinite(y));
      if (ok.length)
        series.push({
          metric,
          split,
          ...(fold !== undefined ? { fold } : {}),
          x: ok.map((p) => p[0]),
          y: ok.map((p) => p[1]),
        });
    };
    at(
      'train',
      'loss',
      f.history.map((h) => [h.epoch + 1, h.trainLoss]),
    );
    const metrics = [...new Set(f.history.flatMap((h) => Object.keys(h.select ?? {})))];
    for (const m of metrics)
      at(
        'val',
        m,
        f.history.map((h) => [h.epoch + 1, h.select?.[m] ?? NaN]),
      );
  });
  return series;
}

export function curvesSection(d: ReportData): string {
  const series = historySeries(d);
  if (!series.length) return '<p>No training history recorded.</p>';
  const metrics = [...new Set(series.map((s) => s.metric))];
  const panels = trainingPanels(series, metrics);
  const choose =
    metrics.length > 1
      ? `<label hidden data-choose="metric">metric <select>${['all', ...metrics]
          .map((m) => `<option value="${esc(m)}">${esc(m === 'all' ? 'all metrics' : metricLabel(m))}</option>`)
          .join('')}</select></label>`
      : '';
  const figs = panels
    .map((c, i) => `<figure data-group="metric" data-value="${esc(metrics[i])}">${svgOf(c)}</figure>`)
    .join('');
  const note = d.run.folds.some((f) => f.history.some((h) => h.select))
    ? ''
    : '<p class="note">This run had no validation set, so only the training loss ' +
      'was recorded per epoch; test metrics are computed once, after training.</p>';
  return `${choose}<div class="row">${figs}</div>${note}`;
}

export function rocSection(d: ReportData): string {
  const binary = d.predictions.length && d.predictions[0].probabilities[0].length === 2;
  if (!binary) return '<p>ROC curves need binary test predictions; this run has none.</p>';
  const many = d.predictions.length > 1;
  const fold = (p: ReportData['predictions'][number]) =>
    `fold ${p.fold + 1}${p.repeat ? ` (rep ${p.repeat + 1})` : ''}`;
  const rocs = d.predictions.map((p) => ({
    p,
    roc: rocCurve(
      p.labels,
      p.probabilities.map((r) => r[1]),
    ),
  }));
  const labels = d.predictions.flatMap((p) => p.labels);
  const scores = d.predictions.flatMap((p) => p.probabilities.map((r) => r[1]));
  const pooled = rocCurve(labels, scores);
  const pr = prCurve(labels, scores);
  // The legend gives the point estimate on these bags with its interval (the bootstrap mean is not an
  // estimate to report).
  const ci = d.intervals.auc;
  const auc = d.pooled.auc;
  const aucText =
    auc === undefined
      ? ''
      : `, AUC ${auc.toFixed(3)}${ci ? ` (95 % CI ${ci.lower.toFixed(3)}–${ci.upper.toFixed(3)})` : ''}`;
  const faint: ChartSeries[] = many
    ? rocs.map(({ p, roc }) => ({
        colour: OKABE_ITO.blue,
        x: roc.fpr,
        y: roc.tpr,
        width: 1,
        opacity: 0.35,
        tips: [fold(p)],
      }))
    : [];
  const roc = lineChart(
    [
      ...faint,
      {
        name: `${many ? 'pooled test bags' : 'test bags'}${aucText}`,
        colour: OKABE_ITO.blue,
        x: pooled.fpr,
        y: pooled.tpr,
        width: 2.4,
      },
    ],
    {
      width: 260,
      height: 260,
      title: 'ROC',
      xLabel: 'false positive rate',
      yLabel: 'true positive rate',
      xDomain: [0, 1],
      yDomain: [0, 1],
      diagonal: true,
      legendExtra: many ? [{ name: 'one fold', colour: OKABE_ITO.blue, width: 1, opacity: 0.35 }] : [],
    },
  );
  const prevalence = labels.filter((y) => y === 1).length / labels.length;
  const prChart = lineChart(
    [
      {
        name: `AP ${pr.averagePrecision.toFixed(3)}`,
        colour: OKABE_ITO.vermillion,
        x: pr.recall,
        y: pr.precision,
        width: 2.4,
      },
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
      width: 260,
      height: 260,
      title: 'precision–recall',
      xLabel: 'recall',
      yLabel: 'precision',
      xDomain: [0, 1],
      yDomain: [0, 1],
    },
  );
  return `<div class="row"><figure>${svgOf(roc)}</figure><figure>${svgOf(prChart)}</figure></div>`;
}

/** A confusion matrix: counts, shaded by the share of the true class's bags. */
function confusionSvg(cm: number[][], title: string): string {
  const k = cm.length;
  const cell = 56;
  const [L, T] = [90, 62];
  const parts: string[] = [`<text x="0" y="14" font-weight="bold">${esc(title)}</text>`];
  cm.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, j) => {
      const share = v / total;
      const light = Math.round(245 - 170 * share);
      const fill = `rgb(${light},${Math.round(250 - 120 * share)},255)`;
      const ink = share > 0.6 ? '#ffffff' : INK;
      parts.push(
        `<rect x="${L + j * cell}" y="${T + i * cell}" width="${cell - 2}" ` +
          `height="${cell - 2}" fill="${share > 0.6 ? '#1f4e99' : fill}"/>`,
        `<text x="${L + j * cell + cell / 2 - 1}" y="${T + i * cell + cell / 2 + 1}" ` +
          `text-anchor="middle" fill="${ink}" font-size="14" font-weight="bold">${v}</text>`,
        `<text x="${L + j * cell + cell / 2 - 1}" y="${T + i * cell + cell / 2 + 16}" ` +
          `text-anchor="middle" fill="${ink}" font-size="10">${(100 * share).toFixed(0)} %</text>`,
      );
    });
    parts.push(`<text x="${L - 8}" y="${T + i * cell + cell / 2 + 4}" text-anchor="end">class ${i}</text>`);
  });
  cm.forEach((_, j) =>
    parts.push(`<text x="${L + j * cell + cell / 2}" y="${T - 6}" text-anchor="middle">class ${j}</text>`),
  );
  parts.push(
    `<text x="${L + (k * cell) / 2}" y="${T - 24}" text-anchor="middle" fill="${MUTED}">predicted</text>`,
    `<text transform="translate(14 ${T + (k * cell) / 2}) ` +
      `rotate(-90)" text-anchor="middle" fill="${MUTED}">true</text>`,
  );
  return svgDoc(L + k * cell + Math.max(10, textWidth(title, 12) - k * cell - L), T + k * cell + 10, parts.join(''));
}

function heatmapSection(d: ReportData): string {
  if (!d.heatmaps.length) return `<p>No heatmaps: ${esc(d.heatmapNote ?? 'no instance scores')}.</p>`;
  const choose =
    `<label hidden data-choose="scale">colour scale ` +
    `<select>${HEAT_SCALES.map((s) => `<option value="${s}">${s}</option>`).join('')}</select></label>`;
  const views = d.heatmaps.map((p) => {
    const def: HeatScale = defaultHeatScale(p.n);
    return HEAT_SCALES.map(
      (s) =>
        `<div data-group="scale" data-value="${s}" data-default="${s === def}"` +
        `${s === def ? '' : ' hidden'}>${staticHtml(renderAttention(p, { scale: s }))}</div>`,
    ).join('');
  });
  return (
    `${choose}<p class="note">The first fold's model on its test bags with the highest predicted ` +
    `probability; outlined cells are known positive instances where the data set labels them. ` +
    `Default colour scale: linear up to 64 instances, percentile rank above.</p>${views.join('')}`
  );
}

const STYLE = `body{font-family:DejaVu Sans,Verdana,sans-serif;color:#1a1a1a;background:#fff;max-width:1200px;\
margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}h3{font-size:15px;margin:18px 0 6px}
details{margin:10px 0}summary{cursor:pointer}
table{border-collapse:collapse}th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}
.note{color:#444;font-size:13px}.row{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}
[hidden]{display:none!important}label{display:inline-block;margin:6px 0}`;

/**
 * Shows each `data-choose` control and the group members whose `data-value` it selects ("all" shows
 * every one), within the control's `<details>` (one configuration of a sweep report) or the page.
 */
const SCRIPT = `document.querySelectorAll('[data-choose]').forEach(function(l){\
var g=l.dataset.choose,s=l.querySelector('select'),r=l.closest('details')||document;
function show(){r.querySelectorAll('[data-group="'+g+'"]').forEach(function(e){\
e.hidden=s.value!=='all'&&e.dataset.value!==s.value;});}
var d=r.querySelector('[data-group="'+g+'"][data-default="true"]');if(d)s.value=d.dataset.value;
s.addEventListener('change',show);l.hidden=false;show();});`;

/** The confusion matrices of `d` side by side (argmax, and the Youden threshold where every fold has one). */
export function confusionRow(d: ReportData): string {
  const matrices = [
    d.confusion.argmax.length ? confusionSvg(d.confusion.argmax, 'at argmax (p ≥ 0.5)') : '',
    d.confusion.youden ? confusionSvg(d.confusion.youden, 'at each fold’s Youden threshold') : '',
  ].filter(Boolean);
  return `<div class="row">${matrices.map((m) => `<figure>${m}</figure>`).join('') || '<p>Not available.</p>'}</div>`;
}

/** The page every report shares: title, a table of facts, sections (heading + HTML), the choice script. */
export function reportPage(title: string, meta: [string, string][], sections: [string, string][]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">\
<meta name="viewport" content="width=device-width"><title>${esc(title)}</title><style>${STYLE}</style></head><body>
<h1>${esc(title)}</h1>
<table>${meta.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${sections.map(([h, body]) => `<h2>${esc(h)}</h2>${body}`).join('\n')}
<p class="note">Written by milkit. Splits' colours: <span style="color:${SPLIT_COLOURS.train}">train</span>, \
<span style="color:${SPLIT_COLOURS.val}">validation</span>, <span style="color:${SPLIT_COLOURS.test}">test</span> \
(Okabe–Ito, colour-blind safe).</p>
<script>${SCRIPT}</script></body></html>
`;
}

export function reportHtml(d: ReportData): string {
  const r = d.run;
  const title = `milkit run report: ${r.model.name} on ${r.data.path.split(/[\\/]/).pop()}`;
  const folds = r.folds.filter((f) => !f.interrupted).length;
  return reportPage(
    title,
    [
      ['run folder', d.runDir],
      ['model', `${r.model.name} ${JSON.stringify(r.model.config)}`],
      ['data', `${r.data.path} (${r.data.bags} bags, ${r.data.dim} features per instance)`],
      ['task', r.task.kind === 'class' ? `${r.task.numClasses}-class classification` : r.task.kind],
      [
        'training',
        `${r.config.epochs} epochs, lr ${r.config.lr}, weight decay ${r.config.weightDecay}, ` +
          `seed ${r.config.seed}, weights kept: ${r.config.selectOn}`,
      ],
      [
        'folds',
        `${folds} finished${r.interrupted ? ' (run interrupted)' : ''}; ` +
          `test bags per fold: ${r.folds.map((f) => f.sizes.test).join(', ')}`,
      ],
      ['created', r.createdAt],
    ],
    [
      ['Summary', summaryTable(d)],
      ['Training curves per fold', curvesSection(d)],
      ['ROC and precision–recall (test bags)', rocSection(d)],
      [`Confusion matrix (test bags${d.predictions.length > 1 ? ', pooled over folds' : ''})`, confusionRow(d)],
      ['Top attention bags', heatmapSection(d)],
    ],
  );
}
