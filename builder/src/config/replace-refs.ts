import type { BuildSpec } from './types.js';
import { imageSections } from './types.js';

/**
 * A copy of the spec with every image reference passed through fn, e.g. to print "@pkg:<dir>"
 * as the tag it built, so that metadata written into the image names no host paths.
 */
export function replaceImageRefs(spec: BuildSpec, fn: (ref: string) => string): BuildSpec {
  const sections = Object.fromEntries(imageSections.map((s) => [s, spec[s].map((i) => ({ ...i, image: fn(i.image) }))]));
  return {
    ...spec,
    ...(spec.kernel ? { kernel: { ...spec.kernel, image: fn(spec.kernel.image) } } : {}),
    init: spec.init.map(fn),
    ...sections,
    volumes: spec.volumes.map((v) => ({ ...v, image: v.image ? fn(v.image) : v.image })),
  };
}
