import { findImage, type StoredImage } from '../image-store.js';
import type { OciLayout } from '../layout.js';
import { cacheNames } from './cache-names.js';
import { pullImage, type PullOptions } from './pull.js';

/**
 * The image from the cache if it is there, else pulled from its registry into the cache.
 * This is what a build does for every registry image its build file names. The cache is
 * looked up as `cache` commands do: the name as written first (what `cache import --name`
 * and recipes store), then normalized (what a pull stores).
 */
export async function ensureImage(layout: OciLayout, ref: string, opts: PullOptions = {}): Promise<StoredImage> {
  for (const name of cacheNames(ref)) {
    const cached = await findImage(layout, name);
    if (cached) return cached;
  }
  return pullImage(layout, ref, opts);
}
