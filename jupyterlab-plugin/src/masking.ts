/**
 * Masking preview: sliders and a strategy selector over one bag's teacher scores. Every change
 * re-runs milkit's own masking (`previewMask` → `selectMask`, the code training uses) in the
 * browser and redraws the bag on a canvas (cheap enough for 50,000 instances per slider tick):
 * masked as easy (high score), masked at random, masked as low score, recycled, and kept cells
 * shaded by their score (so why an instance was masked is visible). The title states the current
 * settings, hovering a cell gives its instance, score and rank, and a small chart draws βh over
 * training (the cosine decay) with the current point.
 */
import {
  MASK_STATUS,
  MASK_STATUS_NAMES,
  MASK_STRATEGIES,
  type MaskingPayload,
  type MaskingSettings,
  highRatioCurve,
  maskingSettingsLabel,
  percentileRanks,
  previewMask,
} from 'milkit/core';
import { el, slider, suppressShortcuts } from './dom.js';
import { type CellLayout, cellPixels, layoutCells } from './grid.js';
import { rankScores } from './ranking.js';
import { VizRenderer } from './renderer.js';
import { type StatusName, themeColors } from './theme.js';
const STRATEGY_LABELS: Record<string, string> = {
  hsm: 'HSM (high score)',
  rhsm: 'RHSM (random high score)',
  lsm: 'LSM (low score)',
  rsm: 'RSM (random)',
  combined: 'combined (RSM + LSM + RHSM)',
};

/** Which sliders a strategy uses (the others are disabled so the view never suggests they matter). */
const USES: Record<string, (keyof MaskingSettings)[]> = {
  hsm: ['highRatio', 'progress'],
  rhsm: ['highRatio', 'highRandomRatio', 'progress'],
  lsm: ['lowRatio'],
  rsm: ['randomRatio'],
  combined: ['highRatio', 'highRandomRatio', 'lowRatio', 'randomRatio', 'progress'],
};
/** Sliders every strategy uses. */
const ALWAYS = new Set<keyof MaskingSettings>(['seed', 'recycleKeepRatio']);

export class MaskingRenderer extends VizRenderer<'masking'> {
  /** The user's slider state; survives redraws of the same payload (a theme switch), not a new payload. */
  private state?: { payload: MaskingPayload; settings: MaskingSettings };

  constructor() {
    super('masking');
  }

  protected render(p: MaskingPayload): void {
    if (this.state?.payload !== p) this.state = { payload: p, settings: { ...p.settings } };
    const settings = this.state.settings;
    const canvas = el('canvas', 'milkit-mask-canvas');
    const counts = el('div', 'milkit-counts');
    const timing = el('div', 'milkit-timing');
    const grid = layoutCells(p);
    const theme = themeColors(this.node);
    const colors = theme.mask;
    const shade = percentileRanks(p.scores);
    const { rank } = rankScores(p.scores);
    const at = new Int32Array(grid.cols * grid.rows).fill(-1);
    for (let i = 0; i < p.n; i++) at[grid.row[i] * grid.cols + grid.col[i]] = i;
    const title = el('span', 'milkit-title');
    const decayPlot = el('canvas', 'milkit-decay-plot');
    const tip = el('div', 'milkit-hover');
    let status: Uint8Array = new Uint8Array(p.n);

    const update = () => {
      const t0 = performance.now();
      const preview = previewMask(p.scores, settings);
      status = preview.status;
      drawCells(canvas, grid, preview.status, colors, shade, theme.dark);
      showCounts(counts, preview.counts, p.n, preview.config.highRatio);
      title.textContent = `${p.title ?? `Masking preview, bag ${p.bagId}`}: ${maskingSettingsLabel(settings)}`;
      drawDecay(decayPlot, settings, preview.config.highRatio, theme.font, colors.high);
      const ms = performance.now() - t0;
      this.node.dataset.updateMs = ms.toFixed(3);
      this.node.dataset.masked = String(p.n - preview.counts.kept - preview.counts.recycled);
      timing.textContent = `masking + redraw: ${ms.toFixed(1)} ms`;
    };

    const controls = el('div', 'milkit-controls');
    const select = suppressShortcuts(el('select', 'milkit-strategy'));
    for (const s of MASK_STRATEGIES) {
      const o = el('option', undefined, STRATEGY_LABELS[s] ?? s);
      o.value = s;
      select.append(o);
    }
    select.value = settings.strategy;
    const sliders: Partial<Record<keyof MaskingSettings, HTMLInputElement>> = {};
    const add = (key: keyof MaskingSettings, label: string, min: number, max: number, step: number, fallback = min) => {
      const value = (settings[key] as number | undefined) ?? fallback;
      const s = slider(label, `milkit-slider-${key}`, min, Math.max(max, value), step, value, (v) => {
        (settings[key] as number) = v;
        update();
      });
      sliders[key] = s.input;
      controls.append(s.wrap);
    };
    const enable = () => {
      for (const [key, input] of Object.entries(sliders))
        input!.disabled =
          !ALWAYS.has(key as keyof MaskingSettings) && !USES[settings.strategy]?.includes(key as keyof MaskingSettings);
    };
    select.addEventListener('change', () => {
      settings.strategy = select.value as MaskingSettings['strategy'];
      enable();
      update();
    });
    // Its own full-width row: the longest label ("combined (RSM + LSM + RHSM)") is clipped in a slider column.
    const strategyLabel = el('label', 'milkit-slider milkit-strategy-row');
    strategyLabel.append(el('span', 'milkit-slider-label', 'strategy'), select);
    controls.append(strategyLabel);
    add('highRatio', 'βh (high-score ratio)', 0, 0.5, 0.005);
    add('highRandomRatio', 'r (RHSM random ratio)', 0.05, 1, 0.05);
    add('lowRatio', 'βl (low-score ratio)', 0, 0.9, 0.01);
    add('randomRatio', 'RSM ratio', 0, 0.9, 0.01);
    add('progress', 'training progress (βh cosine decay)', 0, 1, 0.01);
    const decay = suppressShortcuts(el('input', 'milkit-decay'));
    decay.type = 'checkbox';
    decay.checked = settings.decay;
    decay.addEventListener('change', () => {
      settings.decay = decay.checked;
      update();
    });
    const decayLabel = el('label', 'milkit-slider milkit-decay-label');
    decayLabel.append(decay, el('span', undefined, 'cosine decay of βh'));
    controls.append(decayLabel);
    // GRN: the share of kept instances the student sees directly; 1 = nothing recycled (no GRN).
    add('recycleKeepRatio', 'GRN keep ratio (1 = no recycling)', 0, 1, 0.05, 1);
    add('seed', 'seed', 0, 1000, 1);
    enable();

    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      const scale = canvas.width / (r.width || canvas.width);
      const cell = cellPixels(grid);
      const col = Math.floor(((e.clientX - r.left) * scale) / cell);
      const row = Math.floor(((e.clientY - r.top) * scale) / cell);
      const i = col >= 0 && row >= 0 && col < grid.cols && row < grid.rows ? at[row * grid.cols + col] : -1;
      tip.textContent =
        i < 0
          ? ''
          : `instance ${i} · ${p.scoreKind} ${p.scores[i].toPrecision(4)} · ` +
            `rank ${rank[i]} of ${p.n} · ${MASK_STATUS_NAMES[status[i] as 0]}`;
    });
    canvas.addEventListener('mouseleave', () => (tip.textContent = ''));

    const header = el('div', 'milkit-header');
    const scores = p.scoreKind === 'attention' ? 'teacher attention' : 'class-aware instance probability';
    const strip = p.coords ? '' : ' · no coordinates: ranked strip, highest score first';
    const meta = `${p.n} instances · scores: ${scores}${strip} · kept cells: darker = higher score`;
    header.append(title, el('span', 'milkit-meta', meta));
    const body = el('div', 'milkit-body');
    const left = el('div', 'milkit-heatmap');
    left.append(canvas, tip);
    const right = el('div', 'milkit-side');
    right.append(counts, legend(colors), decayPlot, timing);
    body.append(left, right);
    this.node.append(header, controls, body);
    update();
  }
}

/**
 * Kept cells' shade by score percentile t: light (low) to dark (high) on light pages, the reverse order of lightness on
 * dark ones.
 */
function keptShade(t: number, dark: boolean): string {
  const level = Math.round(10 * t); // 11 shades: few fillStyle switches
  const v = dark ? 58 + 9 * level : 228 - 11 * level;
  return `rgb(${v},${v + 3},${v + 6})`;
}

/** One canvas pass per colour (few fillStyle switches keeps 50k cells at a few ms). */
function drawCells(
  canvas: HTMLCanvasElement,
  g: CellLayout,
  status: Uint8Array,
  colors: Record<StatusName, string>,
  shade: Float32Array,
  dark: boolean,
): void {
  const cell = cellPixels(g);
  const w = g.cols * cell;
  const h = g.rows * cell;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, w, h);
  const gap = cell >= 4 ? 1 : 0;
  (Object.keys(MASK_STATUS) as StatusName[]).forEach((name) => {
    const code = MASK_STATUS[name];
    if (code === MASK_STATUS.kept) return;
    ctx.fillStyle = colors[name];
    for (let i = 0; i < status.length; i++) {
      if (status[i] === code) ctx.fillRect(g.col[i] * cell, g.row[i] * cell, cell - gap, cell - gap);
    }
  });
  for (let level = 0; level <= 10; level++) {
    ctx.fillStyle = keptShade(level / 10, dark);
    for (let i = 0; i < status.length; i++) {
      if (status[i] === MASK_STATUS.kept && Math.round(10 * shade[i]) === level)
        ctx.fillRect(g.col[i] * cell, g.row[i] * cell, cell - gap, cell - gap);
    }
  }
}

/** βh over training progress (the cosine decay when on), the current point marked. */
function drawDecay(c: HTMLCanvasElement, s: MaskingSettings, now: number, ink: string, mark: string): void {
  const [W, H, L, B] = [220, 110, 38, 26];
  c.width = W;
  c.height = H;
  const ctx = c.getContext('2d')!;
  ctx.clearRect(0, 0, W, H);
  const top = Math.max(1e-6, s.highRatio) * 1.1;
  const sx = (x: number) => L + x * (W - L - 8);
  const sy = (y: number) => 8 + (1 - y / top) * (H - B - 8);
  ctx.strokeStyle = ctx.fillStyle = ink;
  ctx.font = '10px sans-serif';
  ctx.strokeRect(L, 8, W - L - 8, H - B - 8);
  ctx.fillText('0', L - 10, H - B + 3);
  ctx.fillText(String(Number(s.highRatio.toPrecision(2))), 2, sy(s.highRatio) + 3);
  ctx.fillText('training progress →', L + 30, H - 8);
  ctx.fillText('βh', 2, 16);
  const curve = highRatioCurve(s);
  ctx.strokeStyle = '#0072B2';
  ctx.lineWidth = 2;
  ctx.beginPath();
  curve.x.forEach((x, k) => (k ? ctx.lineTo(sx(x), sy(curve.y[k])) : ctx.moveTo(sx(x), sy(curve.y[k]))));
  ctx.stroke();
  ctx.fillStyle = mark;
  ctx.beginPath();
  ctx.arc(sx(s.progress), sy(now), 4, 0, 2 * Math.PI);
  ctx.fill();
}

function showCounts(box: HTMLElement, counts: Record<StatusName, number>, n: number, effectiveHigh: number): void {
  box.replaceChildren();
  for (const name of Object.keys(MASK_STATUS) as StatusName[]) {
    const line = el('div', `milkit-count milkit-count-${name}`);
    line.dataset.count = String(counts[name]);
    line.append(
      el('span', 'milkit-count-value', String(counts[name])),
      el('span', undefined, ` ${MASK_STATUS_NAMES[MASK_STATUS[name]]}`),
    );
    box.append(line);
  }
  box.append(el('div', 'milkit-count-total', `of ${n} instances · βh in effect ${effectiveHigh.toFixed(4)}`));
}

function legend(colors: Record<StatusName, string>): HTMLElement {
  const box = el('div', 'milkit-legend');
  for (const name of Object.keys(MASK_STATUS) as StatusName[]) {
    const item = el('span', 'milkit-legend-item');
    const swatch = el('span', 'milkit-swatch');
    swatch.style.background = colors[name];
    item.append(swatch, el('span', undefined, MASK_STATUS_NAMES[MASK_STATUS[name]]));
    box.append(item);
  }
  return box;
}
