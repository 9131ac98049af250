/** Ranks of scores (pure): order[rank] = instance, rank[instance] = 1-based rank, ties by index. */
export function rankScores(scores: readonly number[]): { order: Int32Array; rank: Int32Array } {
  const order = Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  const rank = new Int32Array(scores.length);
  order.forEach((inst, r) => (rank[inst] = r + 1));
  return { order, rank };
}
