/**
 * Small DOM helpers. Output data is untrusted (the renderer is `safe`): every string from a
 * payload goes into the page through textContent, never innerHTML (plotly strings: format.ts).
 */
import { sliderValue } from './format.js';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Marks a control so JupyterLab's keyboard shortcuts skip the keys typed into it (Lumino ignores
 * keydown events whose target carries `data-lm-suppress-shortcuts`): arrow keys move a slider
 * instead of selecting the next notebook cell.
 */
export function suppressShortcuts<T extends HTMLElement>(node: T): T {
  node.setAttribute('data-lm-suppress-shortcuts', 'true');
  return node;
}

/** A labelled range slider; `onInput` gets the numeric value on every move. */
export function slider(
  label: string,
  cls: string,
  min: number,
  max: number,
  step: number,
  value: number,
  onInput: (v: number) => void,
) {
  const wrap = el('label', `milkit-slider ${cls}`);
  const name = el('span', 'milkit-slider-label', label);
  const input = suppressShortcuts(el('input'));
  input.type = 'range';
  input.min = String(min);
  input.max = String(max);
  input.step = String(step);
  input.value = String(value);
  const shown = el('span', 'milkit-slider-value', sliderValue(value, step));
  input.addEventListener('input', () => {
    const v = Number(input.value);
    shown.textContent = sliderValue(v, step);
    onInput(v);
  });
  wrap.append(name, input, shown);
  return { wrap, input };
}
