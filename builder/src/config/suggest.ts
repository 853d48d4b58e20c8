import { editDistance } from '../util/edit-distance.js';

/**
 * The candidate closest to word, if it is close enough to be a plausible typo. Case differences
 * count as nothing, so "Capabilities" finds "capabilities".
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(word, candidates);
  return n === undefined ? undefined : `did you mean "${n}"?`;
}
