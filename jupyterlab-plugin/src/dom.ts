/**
 * Small DOM helpers. Output data is untrusted (the renderer is `safe`): every string from a
 * payload goes into the page through textContent, never innerHTML, and strings handed to plotly
 * (which interprets a few HTML-like tags in labels) are escaped first.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Escapes a payload string for plotly titles, legends and hover text. */
export function plotText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A labelled range slider; `onInput` gets the numeric value on every move. */
export function slider(label: string, cls: string, min: number, max: number, step: number, value: number, onInput: (v: number) => void) {
  const wrap = el('label', `milkit-slider ${cls}`);
  const name = el('span', 'milkit-slider-label', label);
  const input = el('input');
  input.type = 'range';
  input.min = String(min);
  input.max = String(max);
  input.step = String(step);
  input.value = String(value);
  const shown = el('span', 'milkit-slider-value', format(value, step));
  input.addEventListener('input', () => {
    const v = Number(input.value);
    shown.textContent = format(v, step);
    onInput(v);
  });
  wrap.append(name, input, shown);
  return { wrap, input };
}

function format(v: number, step: number): string {
  return step >= 1 ? String(v) : v.toFixed(Math.max(0, Math.ceil(-Math.log10(step))));
}

/** "12.3 s", "4 min 05 s". */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
}
