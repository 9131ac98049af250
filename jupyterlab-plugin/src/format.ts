/**
 * Text the views show (pure: no DOM, no plotly), so it is unit-tested in Node. Payload strings are
 * untrusted: whatever goes to plotly (which reads a few HTML-like tags in labels) is escaped here.
 */
import type { AttentionPayload, TrainingProgress } from 'milkit/core';

/** Escapes a payload string for plotly titles, legends and hover text. */
export function plotText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A slider value with as many decimals as its step has (0.005 → "0.050", 1 → "7"). */
export function sliderValue(v: number, step: number): string {
  return step >= 1 ? String(v) : v.toFixed(Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
}

/** "12.3 s", "4 min 05 s". */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  let m = Math.floor(s / 60);
  let rest = Math.round(s - 60 * m);
  if (rest === 60) [m, rest] = [m + 1, 0];
  return `${m} min ${String(rest).padStart(2, '0')} s`;
}

/** The heatmap's subtitle: size, label, prediction. */
export function describeBag(p: Pick<AttentionPayload, 'n' | 'bagLabel' | 'bagProbabilities' | 'coords'>): string {
  const parts = [`${p.n} instances`];
  if (p.bagLabel !== undefined) parts.push(`label ${p.bagLabel}`);
  if (p.bagProbabilities) parts.push(`predicted ${p.bagProbabilities.map((x) => x.toFixed(3)).join(' / ')}`);
  if (!p.coords) parts.push('no coordinates: ranked strip');
  return parts.join(' · ');
}

/** Lines of the top-instance list: `#rank instance i · score [at (x, y)] [· label l]`. */
export function topInstances(
  p: Pick<AttentionPayload, 'top' | 'coords' | 'instanceLabels'>,
  scores: readonly number[],
  order: Int32Array,
): string[] {
  const lines: string[] = [];
  for (let r = 0; r < Math.min(p.top, order.length); r++) {
    const i = order[r];
    const where = p.coords ? ` at (${p.coords[2 * i]}, ${p.coords[2 * i + 1]})` : '';
    const label = p.instanceLabels ? ` · label ${p.instanceLabels[i]}` : '';
    lines.push(`#${r + 1} instance ${i} · ${scores[i].toPrecision(4)}${where}${label}`);
  }
  return lines;
}

/** The training view's status line: fold, epoch, step, time, rate, message. */
export function progressLine(p: TrainingProgress | undefined, done: boolean): string {
  if (!p) return done ? 'done' : 'starting…';
  const parts: string[] = [];
  if (p.fold !== undefined) parts.push(`fold ${p.fold + 1}${p.folds ? `/${p.folds}` : ''}`);
  parts.push(`epoch ${p.epoch}/${p.epochs}`);
  if (p.step !== undefined) parts.push(`step ${p.step}${p.steps ? `/${p.steps}` : ''}`);
  parts.push(`${seconds(p.elapsedSeconds)} elapsed`);
  if (!done && p.etaSeconds !== undefined) parts.push(`~${seconds(p.etaSeconds)} left`);
  if (p.rate !== undefined) parts.push(`${p.rate.toFixed(1)} bags/s`);
  if (p.message && !(done && p.message === 'done')) parts.push(p.message);
  return (done ? 'done · ' : '') + parts.join(' · ');
}
