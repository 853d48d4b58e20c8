/** "Did you mean" for package names: the closest names by edit distance, then by shared prefix. */
import { editDistance } from '../../util/edit-distance.js';

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Names within a small edit distance first, then names that share a long prefix with the query. */
export function closestNames(query: string, names: Iterable<string>, max = 5): string[] {
  const limit = Math.max(2, Math.floor(query.length / 3));
  const minPrefix = Math.max(4, Math.ceil(query.length / 2));
  const scored: Array<{ name: string; score: number }> = [];
  for (const name of names) {
    const distance = editDistance(query, name, limit);
    if (distance <= limit) {
      scored.push({ name, score: distance });
      continue;
    }
    const prefix = commonPrefixLength(query, name);
    if (prefix >= minPrefix) scored.push({ name, score: limit + 1 + (query.length - prefix) / 100 });
  }
  scored.sort((x, y) => x.score - y.score || x.name.localeCompare(y.name));
  return scored.slice(0, max).map((s) => s.name);
}
