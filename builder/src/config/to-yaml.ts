import { stringify } from 'yaml';
import type { BuildSpec } from './types.js';

/** Drops undefined fields so the output has only what is set. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, clean(x)]));
  }
  return v;
}

/**
 * The resolved build spec as YAML, in LinuxKit's section order, for `lkbuild validate`, dry runs
 * and files with metadata: yaml. Deterministic: the same spec always prints the same text.
 */
export function buildSpecToYaml(spec: BuildSpec): string {
  const ordered: Record<string, unknown> = {};
  if (spec.kernel) ordered.kernel = spec.kernel;
  for (const key of ['init', 'onboot', 'onshutdown', 'services', 'volumes', 'files'] as const) {
    if (spec[key].length) ordered[key] = spec[key];
  }
  return stringify(clean(ordered), { lineWidth: 0, aliasDuplicateObjects: false });
}
