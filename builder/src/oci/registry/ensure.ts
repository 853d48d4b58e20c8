import { findImage, type StoredImage } from '../image-store.js';
import type { OciLayout } from '../layout.js';
import { cacheNames } from './cache-names.js';
import { pullImages, type PullImagesOptions } from './pull.js';

/**
 * Each image from the cache if it is there, else pulled from its registry into the cache: what a
 * build does for the registry images its build file names. The missing ones are pulled side by
 * side (pullImages). The cache is looked up as `cache` commands do: the name as written first
 * (what `cache import --name` and recipes store), then normalized (what a pull stores). Results
 * come in the order of `refs`; `onEvent` hears each pull by the index of its reference there.
 */
export async function ensureImages(
  layout: OciLayout,
  refs: string[],
  opts: PullImagesOptions = {},
): Promise<PromiseSettledResult<StoredImage>[]> {
  const results: PromiseSettledResult<StoredImage>[] = [];
  const missing: number[] = [];
  for (const [i, ref] of refs.entries()) {
    const cached = await findCached(layout, ref);
    if (cached) results[i] = { status: 'fulfilled', value: cached };
    else missing.push(i);
  }
  if (missing.length === 0) return results;
  const pulled = await pullImages(
    layout,
    missing.map((i) => refs[i]),
    { ...opts, onEvent: opts.onEvent && ((j, e) => opts.onEvent!(missing[j], e)) },
  );
  for (const [j, i] of missing.entries()) results[i] = pulled[j];
  return results;
}

async function findCached(layout: OciLayout, ref: string): Promise<StoredImage | undefined> {
  for (const name of cacheNames(ref)) {
    const cached = await findImage(layout, name);
    if (cached) return cached;
  }
  return undefined;
}
