import type { BuildSpec } from '../config/index.js';
import { isLkError, LkError } from '../errors.js';
import type { StoredImage } from '../oci/image-store.js';
import type { PullOptions } from '../oci/registry/pull.js';
import { basename } from 'node:path';
import { ensureRecipeImage, type RecipeBuildOptions } from '../pkg/build-recipe.js';
import { timed, type StageClock } from '../util/stage-clock.js';

export { pkgPrefix } from '../config/normalize.js';
import { pkgPrefix } from '../config/normalize.js';

/** Every image reference a build file names, each once, in the order they appear. */
export function referencedImages(spec: BuildSpec): string[] {
  const refs = [
    ...(spec.kernel ? [spec.kernel.image] : []),
    ...spec.init,
    ...[...spec.onboot, ...spec.services, ...spec.onshutdown, ...spec.volumes].map((c) => c.image).filter((i): i is string => !!i),
  ];
  return [...new Set(refs)];
}

/**
 * Finds each image in the local cache, building `@pkg:` recipes and pulling registry images
 * that are not there yet.
 */
export type ResolveOptions = RecipeBuildOptions & {
  pull?: PullOptions;
  /** Times each recipe ("recipe NAME") and the registry images ("pull"). */
  clock?: StageClock;
};

export async function resolveImages(spec: BuildSpec, opts: ResolveOptions): Promise<Map<string, StoredImage>> {
  const images = new Map<string, StoredImage>();
  for (const ref of referencedImages(spec)) {
    try {
      images.set(ref, await timed(opts.clock, resolveStage(ref), () => resolveImage(ref, opts), ref));
    } catch (e) {
      if (!isLkError(e)) throw e;
      throw new LkError(e.kind, `image ${ref} (${imageUsers(spec, ref).join(', ')}): ${e.message}`, e.hint, { cause: e });
    }
  }
  return images;
}

/** The build stage that finds or makes `ref`: "recipe kernel" for @pkg:../images/kernel, "pull" for the rest. */
export function resolveStage(ref: string): string {
  return ref.startsWith(pkgPrefix) ? `recipe ${basename(ref.slice(pkgPrefix.length))}` : 'pull';
}

/** Which parts of the build file name `ref`, for error messages: "kernel", "onboot sshd", ... */
export function imageUsers(spec: BuildSpec, ref: string): string[] {
  const users: string[] = [];
  if (spec.kernel?.image === ref) users.push('kernel');
  if (spec.init.includes(ref)) users.push('init');
  const sections = { onboot: spec.onboot, service: spec.services, onshutdown: spec.onshutdown, volume: spec.volumes };
  for (const [section, list] of Object.entries(sections)) {
    for (const item of list) if (item.image === ref) users.push(`${section} ${item.name}`);
  }
  return users;
}

export async function resolveImage(ref: string, opts: ResolveOptions): Promise<StoredImage> {
  if (ref.startsWith(pkgPrefix)) return ensureRecipeImage(ref.slice(pkgPrefix.length), opts);
  // The registry client (undici and all) loads only for a build that names a registry image.
  const { ensureImage } = await import('../oci/registry/ensure.js');
  return ensureImage(opts.layout, ref, opts.pull ?? {});
}
