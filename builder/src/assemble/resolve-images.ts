import type { BuildSpec } from '../config/index.js';
import { isLkError, LkError } from '../errors.js';
import type { StoredImage } from '../oci/image-store.js';
import type { PullOptions } from '../oci/registry/pull.js';
import type { TransferEvent } from '../oci/registry/progress-events.js';
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
  pull?: Omit<PullOptions, 'onEvent'>;
  /** Progress of the pull of `ref`. */
  onPull?: (ref: string, event: TransferEvent) => void;
  /** Times each recipe ("recipe NAME") and the registry images ("pull"). */
  clock?: StageClock;
};

/**
 * Registry images first, all of them side by side (a missing image or registry then fails the
 * build before any recipe compiles), then the recipes one after another, in the order named.
 */
export async function resolveImages(spec: BuildSpec, opts: ResolveOptions): Promise<Map<string, StoredImage>> {
  const refs = referencedImages(spec);
  const named = (ref: string, e: unknown) => {
    if (!isLkError(e)) return e;
    return new LkError(e.kind, `image ${ref} (${imageUsers(spec, ref).join(', ')}): ${e.message}`, e.hint, { cause: e });
  };
  const images = new Map<string, StoredImage>();
  const remote = refs.filter((ref) => !ref.startsWith(pkgPrefix));
  if (remote.length > 0) {
    const results = await timed(opts.clock, 'pull', () => pullMissing(remote, opts));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') throw named(remote[i], r.reason);
      images.set(remote[i], r.value);
    }
  }
  for (const ref of refs.filter((r) => r.startsWith(pkgPrefix))) {
    try {
      images.set(ref, await timed(opts.clock, resolveStage(ref), () => ensureRecipeImage(ref.slice(pkgPrefix.length), opts), ref));
    } catch (e) {
      throw named(ref, e);
    }
  }
  // In the order the build file names them, as before.
  return new Map(refs.map((ref) => [ref, images.get(ref)!]));
}

async function pullMissing(refs: string[], opts: ResolveOptions): Promise<PromiseSettledResult<StoredImage>[]> {
  // The registry client (undici and all) loads only for a build that names a registry image.
  const { ensureImages } = await import('../oci/registry/ensure.js');
  const { onPull } = opts;
  return ensureImages(opts.layout, refs, { ...opts.pull, onEvent: onPull && ((i, e) => onPull(refs[i], e)) });
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
