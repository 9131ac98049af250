/**
 * One MIME bundle per view: the versioned milkit JSON (interactive with milkit-jupyterlab), the
 * view's figure as `image/png`, self-contained HTML (info, the same PNG as an <img>, tables) and
 * text/plain. Why the HTML carries a PNG and not SVG: untrusted notebooks (every notebook a
 * colleague sends) pass text/html through JupyterLab's sanitiser, which removes <svg> but keeps
 * data-URI images; GitHub-style viewers show the plain image/png.
 */
import {
  type StaticView,
  VIZ_MIME,
  type VizKind,
  type VizPayloads,
  esc,
  parseViz,
  renderAttention,
  renderMasking,
  renderResults,
  renderTraining,
  staticHtml,
} from 'milkit/core';
import { PNG_SCALE, figurePng } from './png';

export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const RENDER: { [K in VizKind]: (p: VizPayloads[K]) => StaticView } = {
  attention: renderAttention,
  masking: renderMasking,
  training: renderTraining,
  results: renderResults,
};

/**
 * A static view as bundle entries: image/png (when it has a figure), text/html, text/plain. The
 * HTML shows that same PNG, except for tables, whose HTML is the table itself (numbers one can
 * copy) and whose PNG is for image-only viewers.
 */
export function staticBundle(view: StaticView): MimeBundle {
  const data: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  let img = '';
  if (view.figure) {
    const png = figurePng(view.figure).toString('base64');
    data['image/png'] = png;
    metadata['image/png'] = { width: view.figure.width, height: view.figure.height };
    if (!view.htmlShowsFigure)
      img =
        `<img src="data:image/png;base64,${png}" width="${view.figure.width}" ` +
        `height="${view.figure.height}" alt="${esc(view.figure.alt)}" style="max-width:100%;height:auto">`;
  }
  data['text/html'] = staticHtml(view, img);
  data['text/plain'] = view.text;
  return { data, metadata };
}

/** The bundle of one payload; the payload is validated first, so a bad one fails in the cell, not in the browser. */
export function toBundle<K extends VizKind>(kind: K, payload: VizPayloads[K]): MimeBundle {
  parseViz(kind, payload);
  const fallback = staticBundle(RENDER[kind](payload));
  return { data: { [VIZ_MIME[kind]]: payload, ...fallback.data }, metadata: fallback.metadata };
}

export { PNG_SCALE };
