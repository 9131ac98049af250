/**
 * Attention view: one bag's instance scores over its patch coordinates (or as a ranked strip
 * when the bag has none), with the top instances listed.
 */
import { type BagRef, type InstanceLayout, VIZ_VERSIONS, VizSchemaError, instanceLayout, roundedArray } from './schema';

export interface AttentionPayload extends InstanceLayout {
  version: 1;
  kind: 'attention';
  title?: string;
  /** Normalised attention weights (sum ≈ 1), rounded; at least one of attention/probability is present. */
  attention?: number[];
  /** Class-aware instance probability (MHIM-v2 score, or a model's instance classifier). */
  probability?: number[];
  /** Predicted bag class probabilities, when known. */
  bagProbabilities?: number[];
  /** How many top instances a renderer lists. */
  top: number;
}

export interface AttentionScores {
  attention?: ArrayLike<number>;
  probability?: ArrayLike<number>;
  bagProbabilities?: ArrayLike<number>;
}

export interface AttentionOptions {
  title?: string;
  /** Top instances to list (default 10). */
  top?: number;
}

/** Builds an attention view from a bag and a model's per-instance scores. */
export function attentionView(bag: BagRef, scores: AttentionScores, opts: AttentionOptions = {}): AttentionPayload {
  const first = scores.attention ?? scores.probability;
  if (!first)
    throw new VizSchemaError(
      'attention',
      'needs attention weights or instance probabilities (the model returned neither)',
      'attention',
    );
  const n = first.length;
  if (scores.attention && scores.probability && scores.probability.length !== n) {
    throw new VizSchemaError(
      'attention',
      `${scores.probability.length} instance probabilities for ${n} attention weights`,
      'probability',
    );
  }
  const payload: AttentionPayload = {
    version: VIZ_VERSIONS.attention[VIZ_VERSIONS.attention.length - 1] as 1,
    kind: 'attention',
    ...instanceLayout('attention', bag, n),
    top: Math.max(1, Math.min(opts.top ?? 10, n)),
  };
  if (opts.title) payload.title = opts.title;
  if (scores.attention) payload.attention = roundedArray(scores.attention);
  if (scores.probability) payload.probability = roundedArray(scores.probability);
  if (scores.bagProbabilities) payload.bagProbabilities = roundedArray(scores.bagProbabilities);
  return payload;
}

/** Instance indices sorted by descending score (stable: ties keep instance order). */
export function rankInstances(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}
