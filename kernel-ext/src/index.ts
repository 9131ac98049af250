/**
 * milkit-kernel: display helpers for milkit in the tslab TypeScript kernel.
 *
 * ```ts
 * import { show } from 'milkit-kernel';
 * show.attention(bag, { attention });            // heatmap + top instances
 * show.masking(bag, teacherScores, { highRatio: 0.05 });
 * const live = show.training(trainer.events);    // curves update in place while the cell trains
 * show.results({ 'AB-MIL': { auc: [0.9, 0.92] } });
 * show.reproduction('../results/musk1.json', { command: 'npm run reproduce:musk1' }); // or "not measured yet: run …"
 * await showSlideHeatmap('slide.svs', attention, bag.coords, { patchSize: 512 }); // scores over the tissue
 * await showSlideHeatmap('slide.svs', { 'AB-MIL': a, 'MHIM-v2': b }, bag.coords, { patchSize: 512 }); // side by side
 * ```
 * Every output is one bundle: the versioned milkit JSON (interactive with milkit-jupyterlab) plus
 * its figure as PNG, self-contained HTML and text that show in any notebook viewer, trusted or not.
 */
export {
  show,
  Shown,
  TrainingMonitor,
  type AttentionResult,
  type MaskingShowSettings,
  ReproductionShown,
  type Scores,
} from './show';
export {
  loadReproduction,
  withPublished,
  reproductionCaption,
  renderNotice,
  PUBLISHED_SUFFIX,
  type LoadedReproduction,
} from './reproduction';
export { curvePanels, renderCurves, settingOf, transposeResults, type CurvePanel, type CurvePoint } from './curves';
export { staticBundle, toBundle, type MimeBundle } from './bundle';
export { figurePng, PNG_SCALE } from './png';
export { LiveDisplay, inKernel, publish } from './display';
export { showSlideHeatmap, showSlidePatch, SlideShown, PatchShown, type SlideHeatmapOptions } from './slide';
