import type { OciLayout } from '../layout.js';
import type { Descriptor } from '../media-types.js';
import { normalizeReference } from '../reference.js';

/** The names `ref` may be stored under, in the order they are looked up (see resolveCached). */
export function cacheNames(ref: string): string[] {
  const normalized = normalizeReference(ref);
  return normalized === ref ? [ref] : [ref, normalized];
}

/**
 * Finds a cache entry by the name the user typed: exactly as given first (recipe images are
 * tagged "lkbuild/<name>:<hash>"), then in normalized form ("docker.io/library/alpine:3.20").
 */
export async function resolveCached(layout: OciLayout, ref: string): Promise<{ refName: string; descriptor: Descriptor } | undefined> {
  for (const name of cacheNames(ref)) {
    const descriptor = await layout.resolve(name);
    if (descriptor) return { refName: name, descriptor };
  }
  return undefined;
}
