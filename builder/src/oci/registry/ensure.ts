import { findImage, type StoredImage } from '../image-store.js';
import type { OciLayout } from '../layout.js';
import { normalizeReference } from '../reference.js';
import { pullImage, type PullOptions } from './pull.js';

/**
 * The image from the cache if it is there, else pulled from its registry into the cache.
 * This is what a build does for every registry image its build file names.
 */
export async function ensureImage(layout: OciLayout, ref: string, opts: PullOptions = {}): Promise<StoredImage> {
  return (await findImage(layout, normalizeReference(ref))) ?? pullImage(layout, ref, opts);
}
