// Measures, on the rendered page, the colours of every milkit view under a container: text
// against its effective background (WCAG AA contrast ≥ 4.5), heatmap patch colours against the
// plot background (CIELAB ΔE ≥ 40: clearly different colours), masking status colours against
// "kept" (contrast ≥ 3) and "kept" against the page (ΔE ≥ 10). Colours come from getComputedStyle
// and plotly's SVG, the arithmetic from the extension's own colour.ts.
import { contrast, deltaE, over, parseColour } from '../lib/colour.js';

export const MIN_TEXT = 4.5;
export const MIN_PATCH_DELTA_E = 40;
export const MIN_STATUS = 3;
export const MIN_KEPT_DELTA_E = 10;

/** Collected in the page: text colours with their background layers, patch fills, swatches. */
function collect(rootSelector) {
  const layersOf = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const bg = getComputedStyle(n).backgroundColor;
      const alpha = /rgba\(.*,\s*([\d.]+)\)$/.exec(bg);
      if (alpha && Number(alpha[1]) === 0) continue;
      layers.push(bg);
      if (!alpha) break; // opaque
    }
    return layers;
  };
  const roots = [...document.querySelectorAll(rootSelector)];
  const text = [];
  const html = [
    '.milkit-title',
    '.milkit-meta',
    '.milkit-toplist-head',
    '.milkit-toplist-item',
    '.milkit-count',
    '.milkit-count-total',
    '.milkit-legend-item',
    '.milkit-slider-label',
    '.milkit-slider input:enabled + .milkit-slider-value',
    '.milkit-decay-label',
    '.milkit-results-table th',
    '.milkit-results-table td',
    '.milkit-results-table caption',
    '.milkit-progress',
    '.milkit-error',
    '.milkit-toggle button',
    '.milkit-timing',
    '.milkit-strategy',
  ].join(', ');
  for (const root of roots) {
    for (const e of root.querySelectorAll(html)) {
      if (!e.textContent.trim() || e.getClientRects().length === 0) continue;
      text.push({
        what: `${e.className || e.tagName} "${e.textContent.trim().slice(0, 30)}"`,
        fg: getComputedStyle(e).color,
        layers: layersOf(e),
      });
    }
    for (const t of root.querySelectorAll('svg text')) {
      if (!t.textContent.trim() || t.closest('.hoverlayer')) continue;
      text.push({
        what: `plot text "${t.textContent.trim().slice(0, 30)}"`,
        fg: getComputedStyle(t).fill,
        layers: layersOf(t.closest('.milkit-plot')),
      });
    }
  }
  // Heatmap cells: the colours at the cell centres of each canvas (the canvas paints no background
  // of its own under the cells but the theme's layout colour; measured against the page).
  const patches = roots
    .flatMap((r) => [...r.querySelectorAll('.milkit-attention canvas.milkit-heatmap-canvas')])
    .map((c) => {
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const cell = Number(c.dataset.cell);
      const fills = new Set();
      for (let y = cell / 2; y < c.height; y += cell)
        for (let x = cell / 2; x < c.width; x += cell) {
          const o = 4 * (Math.floor(y) * c.width + Math.floor(x));
          const rgb = `${px[o]},${px[o + 1]},${px[o + 2]}`;
          if (rgb !== c.dataset.empty) fills.add(`rgb(${px[o]}, ${px[o + 1]}, ${px[o + 2]})`);
        }
      return { layers: layersOf(c.parentElement), fills: [...fills] };
    });
  const swatches = roots
    .flatMap((r) => [...r.querySelectorAll('.milkit-masking .milkit-legend')])
    .map((legend) =>
      [...legend.querySelectorAll('.milkit-legend-item')].map((item) => ({
        name: item.textContent.trim(),
        colour: getComputedStyle(item.querySelector('.milkit-swatch')).backgroundColor,
      })),
    );
  const page = layersOf(roots[0] ?? document.body);
  return { text, patches, swatches, page, dark: document.body.dataset.jpThemeLight === 'false' };
}

const flatten = (layers) => {
  let bg = parseColour('#ffffff'); // the canvas behind a page without opaque background
  for (const layer of [...layers].reverse()) bg = over(parseColour(layer), bg);
  return `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`;
};

/** Measures and returns { worstText, worstPatch, worstStatus, failures[] } for views under `rootSelector`. */
export async function measureContrast(page, rootSelector) {
  const c = await page.evaluate(collect, rootSelector);
  const failures = [];
  let worstText = { ratio: Infinity };
  for (const t of c.text) {
    const bg = flatten(t.layers);
    const ratio = contrast(t.fg, bg);
    if (ratio < worstText.ratio) worstText = { ratio, what: t.what, fg: t.fg, bg };
    if (ratio < MIN_TEXT) failures.push(`text ${t.what}: ${t.fg} on ${bg} = ${ratio.toFixed(2)}`);
  }
  let worstPatch = { dE: Infinity };
  for (const h of c.patches) {
    const bg = flatten(h.layers);
    for (const f of h.fills) {
      const dE = deltaE(f, bg);
      if (dE < worstPatch.dE) worstPatch = { dE, fill: f, bg };
      if (dE < MIN_PATCH_DELTA_E) failures.push(`heatmap patch ${f} on ${bg}: ΔE ${dE.toFixed(1)}`);
    }
  }
  let worstStatus = { ratio: Infinity };
  for (const legend of c.swatches) {
    const kept = legend.find((s) => s.name === 'kept');
    for (const s of legend.filter((x) => x !== kept)) {
      const ratio = contrast(s.colour, kept.colour);
      if (ratio < worstStatus.ratio) worstStatus = { ratio, name: s.name, colour: s.colour, kept: kept.colour };
      if (ratio < MIN_STATUS)
        failures.push(`masking "${s.name}" ${s.colour} vs kept ${kept.colour} = ${ratio.toFixed(2)}`);
    }
    const keptDE = deltaE(kept.colour, flatten(c.page));
    worstStatus.keptDE = Math.min(worstStatus.keptDE ?? Infinity, keptDE);
    if (keptDE < MIN_KEPT_DELTA_E) failures.push(`masking "kept" ${kept.colour} vs page: ΔE ${keptDE.toFixed(1)}`);
  }
  return {
    dark: c.dark,
    page: flatten(c.page),
    texts: c.text.length,
    patchColours: c.patches.reduce((s, h) => s + h.fills.length, 0),
    worstText,
    worstPatch,
    worstStatus,
    failures,
  };
}

export function describeContrast(m) {
  const { worstText: text, worstPatch: patch, worstStatus: status } = m;
  return (
    `${m.dark ? 'dark' : 'light'} (page ${m.page}): ${m.texts} texts, worst ${text.ratio.toFixed(2)} (${text.what}); ` +
    `${m.patchColours} patch colours, worst ΔE ${patch.dE.toFixed(1)} (${patch.fill} on ${patch.bg}); ` +
    `masking statuses vs kept, worst ${status.ratio.toFixed(2)} (${status.name}), ` +
    `kept vs page ΔE ${status.keptDE?.toFixed(1)}`
  );
}

/** Plots wider than their div, or reaching into the top list next to them (a layout spill). */
export async function layoutProblems(page, rootSelector) {
  return page.evaluate((sel) => {
    const problems = [];
    document.querySelectorAll(`${sel} .milkit-plot`).forEach((plot, i) => {
      const svg = plot.querySelector('.main-svg');
      if (!svg || plot.getClientRects().length === 0) return;
      const p = plot.getBoundingClientRect();
      const s = svg.getBoundingClientRect();
      if (s.width > p.width + 2)
        problems.push(`plot ${i}: svg ${s.width.toFixed(0)} px in a ${p.width.toFixed(0)} px div`);
      const list = plot.parentElement.querySelector('.milkit-toplist');
      if (list && list.getBoundingClientRect().top < s.bottom && s.right > list.getBoundingClientRect().left + 1)
        problems.push(`plot ${i}: svg reaches into the top list`);
    });
    return problems;
  }, rootSelector);
}
