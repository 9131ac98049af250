/**
 * `show.*`: the notebook calls. Each builds a milkit view (src/viz), turns it into one MIME bundle
 * and displays it; each returns a `Shown` holding the payload so a notebook can assert on what it
 * displayed (tslab prints a cell's last value: `Shown` prints as one short line).
 */
import { inspect } from 'node:util';
import {
  type AttentionOptions,
  type AttentionPayload,
  type BagRef,
  type MaskPreview,
  type MaskingOptions,
  type MaskingPayload,
  type MaskingSettings,
  type ResultCell,
  type ResultsInput,
  type ResultsPayload,
  type StaticView,
  TrainingCurves,
  type TrainingPayload,
  type VizKind,
  type VizPayloads,
  attentionView,
  maskingView,
  previewMask,
  resultsView,
} from 'milkit/core';
import type { TrainEvent } from 'milkit/core';
import type { ReproductionFile } from 'milkit';
import { type MimeBundle, staticBundle, toBundle } from './bundle';
import { type CurvePanel, curvePanels, renderCurves, transposeResults } from './curves';
import { LiveDisplay, publish } from './display';
import { loadReproduction, renderNotice, withPublished } from './reproduction';

/** A score array, or anything with `dataSync()` (a tfjs tensor; read once, outside any training loop). */
export type Scores = ArrayLike<number> | { dataSync(): ArrayLike<number> };

export interface AttentionResult {
  attention?: Scores;
  probability?: Scores;
  bagProbabilities?: Scores;
}

export class Shown<K extends VizKind> {
  constructor(
    readonly kind: K,
    readonly payload: VizPayloads[K],
    readonly bundle: MimeBundle,
  ) {}

  [inspect.custom](): string {
    return `[milkit ${this.kind} view: ${String(this.bundle.data['text/plain']).split('\n')[0]}]`;
  }
}

function scores(s: Scores | undefined): ArrayLike<number> | undefined {
  if (s === undefined) return undefined;
  return typeof (s as { dataSync?: unknown }).dataSync === 'function'
    ? (s as { dataSync(): ArrayLike<number> }).dataSync()
    : (s as ArrayLike<number>);
}

function display<K extends VizKind>(kind: K, payload: VizPayloads[K]): Shown<K> {
  const bundle = toBundle(kind, payload);
  publish(bundle);
  return new Shown(kind, payload, bundle);
}

/** Where training stands for a masking preview: `progress` in [0, 1], or `epoch` of `epochs`. */
export type MaskingShowSettings = Partial<MaskingSettings> & { epoch?: number; epochs?: number };

/** Live training display: pass `listener` to the trainer's event stream (or let `show.training(stream)` subscribe). */
export class TrainingMonitor {
  readonly curves: TrainingCurves;
  readonly display: LiveDisplay;
  private off?: () => void;

  constructor(title?: string, minIntervalMs = 500, metrics?: readonly string[]) {
    this.curves = new TrainingCurves(title, metrics);
    this.display = new LiveDisplay(minIntervalMs);
  }

  /** Consumes one trainer event and redraws (throttled; always on run-end). */
  readonly listener = (e: TrainEvent): void => {
    this.curves.apply(e);
    const final = e.type === 'run-end';
    // Steps only move the progress line: throttle them; curve points and fold changes redraw promptly.
    this.display.update(() => toBundle('training', this.curves.view()), final || e.type === 'fold-end');
    if (final) this.off?.();
  };

  /** Subscribes to a stream with an `on(listener) → unsubscribe` method (the trainer's TrainEventStream). */
  attach(stream: { on(l: (e: TrainEvent) => void): () => void }): this {
    this.off = stream.on(this.listener);
    return this;
  }

  /** Draws the current state now (e.g. after an exception stopped the run). */
  flush(): void {
    this.display.update(() => toBundle('training', this.curves.view()), true);
  }

  view(): TrainingPayload {
    return this.curves.view();
  }
}

/** What `show.reproduction` displayed: the table, or the notice for a file that is missing or unreadable. */
export class ReproductionShown {
  constructor(
    readonly status: 'measured' | 'missing' | 'invalid',
    readonly path: string,
    readonly bundle: MimeBundle,
    readonly file?: ReproductionFile,
    readonly table?: Shown<'results'>,
    /** The notice's text for missing / invalid files. */
    readonly message?: string,
  ) {}

  /** tslab prints a cell's last value: one short line, not the whole bundle. */
  [inspect.custom](): string {
    const shown =
      this.status === 'measured' ? 'table shown' : this.status === 'missing' ? 'not measured yet' : 'unreadable';
    return `[milkit reproduction ${this.path}: ${shown}]`;
  }
}

export const show = {
  /**
   * Heatmap of attention / instance probability over patch coordinates (ranked cells without them), top instances
   * listed.
   */
  attention(bag: BagRef, result: AttentionResult, opts: AttentionOptions = {}): Shown<'attention'> {
    const payload: AttentionPayload = attentionView(
      bag,
      {
        attention: scores(result.attention),
        probability: scores(result.probability),
        bagProbabilities: scores(result.bagProbabilities),
      },
      opts,
    );
    return display('attention', payload);
  },

  /** Which instances MHIM masks (high-score, random, low-score, kept, recycled) for the given settings. */
  masking(
    bag: BagRef,
    teacherScores: Scores,
    settings: MaskingShowSettings = {},
    opts: MaskingOptions = {},
  ): Shown<'masking'> & { preview: MaskPreview } {
    const { epoch, epochs, ...rest } = settings;
    if (epoch !== undefined && epochs !== undefined) {
      rest.progress = Math.min(1, Math.max(0, epoch / epochs));
      rest.decay ??= true;
    }
    const payload: MaskingPayload = maskingView(bag, scores(teacherScores)!, rest, opts);
    const shown = display('masking', payload);
    return Object.assign(shown, { preview: previewMask(payload.scores, payload.settings) });
  },

  /**
   * Live curves and a progress line updated in place while a cell trains. Give it the trainer's
   * event stream, or pass `monitor.listener` to the trainer yourself.
   */
  training(
    stream?: { on(l: (e: TrainEvent) => void): () => void },
    opts: { title?: string; minIntervalMs?: number; metrics?: readonly string[] } = {},
  ): TrainingMonitor {
    const monitor = new TrainingMonitor(opts.title, opts.minIntervalMs, opts.metrics);
    return stream ? monitor.attach(stream) : monitor;
  },

  /**
   * Cross-validation tables (mean ± sd). Takes a full table, or `{ rowLabel: { metric: values[] | {mean, sd} } }`
   * (e.g. several runs' summaries), whose columns are the metrics in first-seen order.
   */
  results(
    table: ResultsInput | Record<string, Record<string, ResultCell | ArrayLike<number>>>,
    opts: { title?: string; caption?: string; columns?: string[] } = {},
  ): Shown<'results'> {
    let input: ResultsInput;
    if (Array.isArray((table as ResultsInput).columns) && Array.isArray((table as ResultsInput).rows)) {
      input = { ...(table as ResultsInput), ...opts } as ResultsInput;
    } else {
      const byRow = table as Record<string, Record<string, ResultCell | ArrayLike<number>>>;
      const columns = opts.columns ?? [...new Set(Object.values(byRow).flatMap((r) => Object.keys(r)))];
      input = {
        title: opts.title,
        caption: opts.caption,
        columns,
        rows: Object.entries(byRow).map(([label, r]) => ({ label, cells: columns.map((c) => r[c] ?? null) })),
      };
    }
    const payload: ResultsPayload = resultsView(input);
    return display('results', payload);
  },

  /**
   * A committed reproduction table (`results/<name>.json`): ours with the published numbers beside,
   * protocol and regenerating command in the caption. A missing file shows "not measured yet: run
   * <command>" (`command` = how to produce it), an unreadable one says why; neither throws.
   */
  reproduction(file: string, opts: { command: string; title?: string }): ReproductionShown {
    const loaded = loadReproduction(file);
    const title = opts.title ?? file;
    if (loaded.status === 'measured') {
      const table = display(
        'results',
        resultsView({ ...withPublished(loaded.file), ...(opts.title ? { title: opts.title } : {}) }),
      );
      return new ReproductionShown('measured', file, table.bundle, loaded.file, table);
    }
    const message =
      loaded.status === 'missing'
        ? `not measured yet (${file} is not there): run`
        : `could not read ${file} (${loaded.error}); regenerate it with`;
    const bundle = staticBundle(renderNotice(title, message, opts.command));
    publish(bundle);
    return new ReproductionShown(loaded.status, file, bundle, undefined, undefined, String(bundle.data['text/plain']));
  },

  /**
   * Hyperparameter curves (Figure-6 style) of a table whose rows are settings like "βh = 0.03"; static
   * SVG + text. Given a reproduction file, its published numbers are drawn beside ours.
   */
  curve(
    table: ResultsInput | ReproductionFile,
    opts: {
      metrics?: string[];
      title?: string;
      caption?: string;
      settingsIn?: 'rows' | 'columns';
      /** Axis titles (default: the swept setting; the metric, or "value" for settingsIn 'columns'). */
      xLabel?: string;
      yLabel?: string;
    } = {},
  ): { panels: CurvePanel[]; view: StaticView; bundle: MimeBundle } {
    let published = (table as Partial<ReproductionFile>).meta?.published?.values;
    let input: ResultsInput = table;
    // settingsIn 'columns': the swept values are the column headers (MNIST-bags: "50 bags", ...): one line per row, in
    // one chart.
    const columns = opts.settingsIn === 'columns';
    if (columns) ({ table: input, published } = transposeResults(table, published));
    const panels = curvePanels(input, opts.metrics, published);
    const view = renderCurves(panels, opts.title ?? table.title, opts.caption, {
      combine: columns,
      xLabel: opts.xLabel,
      yLabel: opts.yLabel,
    });
    const bundle = staticBundle(view);
    publish(bundle);
    return { panels, view, bundle };
  },
};
