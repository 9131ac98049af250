/**
 * Small widths of the bag-level catalogue models for the contract tests, so 20,000-instance
 * bags stay cheap; everything else keeps the published defaults. `models.test.ts` uses these too.
 */
export const BAG_LEVEL_SMALL: Record<string, Record<string, unknown>> = {
  'dp-minn': { hidden: [16, 8] },
  'loss-attention': { hidden: [16, 8] },
  'gnn-mil': { embedDim: 16, clusters: 3 },
  'sa-abmilp': { embedDim: 16, attentionDim: 8 },
  'dtfd-mil': { embedDim: 16, attentionDim: 8 },
  ibmil: { embedDim: 16, attentionDim: 8, jointDim: 8, confounders: 3 },
  'das-mil': { embedDim: 16, heads: 2, headDim: 8, attentionDim: 8 },
  'extreme-mil': { embedDim: 16, attentionDim: 8 },
  'r2t-mil': { embedDim: 16, heads: 2, headDim: 8, attentionDim: 8 },
};

/** Models whose output depends on the instance order when no coordinates are given. */
export const ORDER_DEPENDENT = new Set(['transmil', 'r2t-mil']);
