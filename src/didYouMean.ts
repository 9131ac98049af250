/**
 * "Did you mean" hints for names typed by a person (models, options, commands, flags, columns):
 * the closest known name within an edit distance of max(2, ⌊|name| / 3⌋), case-insensitive.
 */

/** The known name closest to `name`, if one is close enough to be a likely typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** ` (did you mean "x"?)`, or '' when no known name is close. */
export function didYouMean(name: string, known: readonly string[], quote = '"'): string {
  const hint = closest(name, known);
  return hint ? ` (did you mean ${quote}${hint}${quote}?)` : '';
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
