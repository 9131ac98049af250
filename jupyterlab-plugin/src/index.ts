/**
 * milkit-jupyterlab: a MIME extension with one safe renderer per milkit output type. Safe means
 * JupyterLab also uses it in untrusted notebooks (every notebook run headlessly or opened fresh):
 * the renderers never execute code or inject HTML from the output data.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { VIZ_MIME, type VizKind } from 'milkit/core';
import { AttentionRenderer } from './attention.js';
import { MaskingRenderer } from './masking.js';
import { ResultsRenderer } from './results.js';
import { TrainingRenderer } from './training.js';
import type { VizRenderer } from './renderer.js';
import { slideExtension } from './slide.js';

const RENDERERS: { [K in VizKind]: new () => VizRenderer<K> } = {
  attention: AttentionRenderer,
  masking: MaskingRenderer,
  training: TrainingRenderer,
  results: ResultsRenderer,
};

function extension<K extends VizKind>(kind: K): IRenderMime.IExtension {
  const Renderer = RENDERERS[kind];
  return {
    id: `milkit-jupyterlab:${kind}`,
    description: `Renders milkit ${kind} outputs (${VIZ_MIME[kind]})`,
    // Lower rank wins: below text/html (50) so the interactive view beats milkit-kernel's static fallback.
    rendererFactory: { safe: true, mimeTypes: [VIZ_MIME[kind]], defaultRank: 40, createRenderer: () => new Renderer() },
    rank: 40,
    dataType: 'json',
  };
}

const extensions: IRenderMime.IExtension[] = [...(Object.keys(RENDERERS) as VizKind[]).map(extension), slideExtension];
export default extensions;
