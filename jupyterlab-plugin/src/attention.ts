/**
 * Attention heatmap: each patch at its coordinates, coloured by attention or by class-aware
 * instance probability (toggle when both exist); hover gives index, score and rank; plotly gives
 * zoom and pan. Bags without coordinates get a ranked strip. The top instances are listed.
 */
import Plotly from 'plotly.js-dist-min';
import type { AttentionPayload } from 'milkit/core';
import { el } from './dom';
import { describeBag, topInstances } from './format';
import { rankScores } from './ranking';
import { VizRenderer } from './renderer';
import { SCORE_COLORSCALE, baseLayout, themeColors } from './theme';

type ScoreField = 'attention' | 'probability';
const SCORE_NAMES: Record<ScoreField, string> = { attention: 'attention', probability: 'instance probability' };

export class AttentionRenderer extends VizRenderer<'attention'> {
  private field: ScoreField = 'attention';

  constructor() {
    super('attention');
  }

  protected async render(p: AttentionPayload): Promise<void> {
    const fields = (['attention', 'probability'] as const).filter((f) => p[f] !== undefined);
    if (!fields.includes(this.field)) this.field = fields[0];

    const header = el('div', 'milkit-header');
    header.append(el('span', 'milkit-title', p.title ?? `Bag ${p.bagId}`), el('span', 'milkit-meta', describeBag(p)));
    const plot = el('div', 'milkit-plot');
    const list = el('ol', 'milkit-toplist');
    const body = el('div', 'milkit-body');
    body.append(plot, list);
    this.node.append(header, body);

    const draw = async () => {
      const scores = p[this.field]!;
      const { order, rank } = rankScores(scores);
      fillTopList(list, p, scores, order, SCORE_NAMES[this.field]);
      await Plotly.react(plot, [trace(p, scores, rank, SCORE_NAMES[this.field])], layout(p, this), {
        responsive: true,
        displaylogo: false,
      });
    };
    if (fields.length > 1) {
      const toggle = el('div', 'milkit-toggle');
      for (const f of fields) {
        const b = el('button', `milkit-toggle-${f}`, `colour by ${SCORE_NAMES[f]}`);
        b.type = 'button';
        b.setAttribute('aria-pressed', String(f === this.field));
        b.addEventListener('click', () => {
          this.field = f;
          toggle.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
          void draw();
        });
        toggle.append(b);
      }
      header.append(toggle);
    }
    await draw();
  }
}

function trace(p: AttentionPayload, scores: number[], rank: Int32Array, name: string) {
  const idx = Array.from(scores.keys());
  const custom = idx.map((i) => (p.instanceLabels ? [i, rank[i], p.instanceLabels[i]] : [i, rank[i]]));
  const labelLine = p.instanceLabels ? '<br>instance label %{customdata[2]}' : '';
  const hovertemplate = `instance %{customdata[0]}<br>${name} %{marker.color:.4g}<br>rank %{customdata[1]} of ${p.n}${labelLine}<extra></extra>`;
  const marker = {
    color: scores,
    colorscale: SCORE_COLORSCALE,
    showscale: true,
    colorbar: { title: { text: name, side: 'right' }, thickness: 12 },
  };
  if (p.coords) {
    const x = idx.map((i) => p.coords![2 * i]);
    const y = idx.map((i) => p.coords![2 * i + 1]);
    return {
      type: 'scatter',
      mode: 'markers',
      x,
      y,
      customdata: custom,
      hovertemplate,
      marker: { ...marker, symbol: 'square', size: markerSize(p) },
    };
  }
  // Ranked strip: instances ordered by score, one bar each.
  const byRank = Array.from(rank, (r) => r);
  return { type: 'bar', x: byRank, y: scores, customdata: custom, hovertemplate, marker };
}

/** Square markers about one patch wide at the initial zoom (clamped to stay visible). */
function markerSize(p: AttentionPayload): number {
  const xs = p.coords!.filter((_, i) => i % 2 === 0);
  const span = Math.max(...xs) - Math.min(...xs) + (p.patchSize ?? 1);
  return Math.max(3, Math.min(24, (520 * (p.patchSize ?? 1)) / span));
}

function layout(p: AttentionPayload, host: AttentionRenderer) {
  const colors = themeColors(host.node);
  const axis = { gridcolor: colors.grid, zeroline: false };
  const common = { ...baseLayout(colors), height: 420, dragmode: 'pan' };
  if (p.coords) {
    return {
      ...common,
      xaxis: { ...axis, showgrid: false, title: { text: 'x' } },
      yaxis: { ...axis, showgrid: false, title: { text: 'y' }, autorange: 'reversed', scaleanchor: 'x' },
    };
  }
  return {
    ...common,
    bargap: 0,
    xaxis: { ...axis, title: { text: 'rank' } },
    yaxis: { ...axis, title: { text: 'score' } },
  };
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
