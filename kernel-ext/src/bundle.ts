/**
 * One MIME bundle per view: the versioned milkit JSON (for the JupyterLab plugin) plus static
 * fallbacks that render anywhere (self-contained HTML with inline SVG, and text/plain).
 */
import { VIZ_MIME, type VizKind, type VizPayloads, parseViz } from 'milkit/core';
import { type Fallback, renderAttention, renderMasking, renderResults, renderTraining } from './render';

export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const RENDER: { [K in VizKind]: (p: VizPayloads[K]) => Fallback } = {
  attention: renderAttention,
  masking: renderMasking,
  training: renderTraining,
  results: renderResults,
};

/** The bundle of one payload; the payload is validated first, so a bad one fails in the cell, not in the browser. */
export function toBundle<K extends VizKind>(kind: K, payload: VizPayloads[K]): MimeBundle {
  parseViz(kind, payload);
  const fallback = RENDER[kind](payload);
  return {
    data: { [VIZ_MIME[kind]]: payload, 'text/html': fallback.html, 'text/plain': fallback.text },
    metadata: {},
  };
}
