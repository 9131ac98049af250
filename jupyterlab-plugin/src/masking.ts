/**
 * Masking preview: sliders and a strategy selector over one bag's teacher scores. Every change
 * re-runs milkit's own masking (`previewMask` → `selectMask`, the code training uses) in the
 * browser and redraws the bag on a canvas (cheap enough for 15,000 instances per slider tick):
 * masked as easy (high score), masked at random, masked as low score, recycled, kept.
 */
import {
  MASK_STATUS,
  MASK_STATUS_NAMES,
  MASK_STRATEGIES,
  type MaskingPayload,
  type MaskingSettings,
  previewMask,
} from 'milkit/core';
import { el, slider } from './dom';
import { type CellLayout, cellPixels, layoutCells } from './grid';
import { VizRenderer } from './renderer';
import { type StatusName, themeColors } from './theme';
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
    const colors = themeColors(this.node).mask;

    const update = () => {
      const t0 = performance.now();
      const preview = previewMask(p.scores, settings);
      drawCells(canvas, grid, preview.status, colors);
      showCounts(counts, preview.counts, p.n, preview.config.highRatio);
      const ms = performance.now() - t0;
      this.node.dataset.updateMs = ms.toFixed(3);
      this.node.dataset.masked = String(p.n - preview.counts.kept - preview.counts.recycled);
      timing.textContent = `masking + redraw: ${ms.toFixed(1)} ms`;
    };

    const controls = el('div', 'milkit-controls');
    const select = el('select', 'milkit-strategy');
    for (const s of MASK_STRATEGIES) {
      const o = el('option', undefined, STRATEGY_LABELS[s] ?? s);
      o.value = s;
      select.append(o);
    }
    select.value = settings.strategy;
    const sliders: Partial<Record<keyof MaskingSettings, HTMLInputElement>> = {};
    const add = (key: keyof MaskingSettings, label: string, min: number, max: number, step: number) => {
      const value = settings[key] as number;
      const s = slider(label, `milkit-slider-${key}`, min, Math.max(max, value), step, value, (v) => {
        (settings[key] as number) = v;
        update();
      });
      sliders[key] = s.input;
      controls.append(s.wrap);
    };
    const enable = () => {
      for (const [key, input] of Object.entries(sliders))
        input!.disabled = key !== 'seed' && !USES[settings.strategy]?.includes(key as keyof MaskingSettings);
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
    const decay = el('input', 'milkit-decay');
    decay.type = 'checkbox';
    decay.checked = settings.decay;
    decay.addEventListener('change', () => {
      settings.decay = decay.checked;
      update();
    });
    const decayLabel = el('label', 'milkit-slider milkit-decay-label');
    decayLabel.append(decay, el('span', undefined, 'cosine decay of βh'));
    controls.append(decayLabel);
    add('seed', 'seed', 0, 1000, 1);
    enable();

    const header = el('div', 'milkit-header');
    const meta = `${p.n} instances · scores: ${p.scoreKind === 'attention' ? 'teacher attention' : 'class-aware instance probability'}${p.coords ? '' : ' · no coordinates: ranked strip, highest score first'}`;
    header.append(
      el('span', 'milkit-title', p.title ?? `Masking preview, bag ${p.bagId}`),
      el('span', 'milkit-meta', meta),
    );
    const body = el('div', 'milkit-body');
    const right = el('div', 'milkit-side');
    right.append(counts, legend(colors), timing);
    body.append(canvas, right);
    this.node.append(header, controls, body);
    update();
  }
}

/** One canvas pass per status colour (few fillStyle switches keeps 15k cells at a few ms). */
function drawCells(
  canvas: HTMLCanvasElement,
  g: CellLayout,
  status: Uint8Array,
  colors: Record<StatusName, string>,
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
    ctx.fillStyle = colors[name];
    for (let i = 0; i < status.length; i++) {
      if (status[i] === code) ctx.fillRect(g.col[i] * cell, g.row[i] * cell, cell - gap, cell - gap);
    }
  });
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
