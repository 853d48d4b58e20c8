import { describeValue } from './describe.js';
import type { Parsed } from './rlimits.js';
import { didYouMean } from './suggest.js';
import type { BuildSpec } from './types.js';
import { imageSections } from './types.js';

/**
 * LinuxKit gives each container a uid/gid, from 100 up in the order onboot, onshutdown, services;
 * a uid or gid that names a container means that id. A repeated name keeps its last id, as there.
 */
export function containerIds(spec: BuildSpec): Map<string, number> {
  const ids = new Map<string, number>();
  let next = 100;
  for (const s of imageSections) for (const image of spec[s]) ids.set(image.name, next++);
  return ids;
}

/** A uid/gid as a number: numbers and numeric strings as they are, "root" and "" as 0, names via ids; undefined for an unknown name. */
export function numericId(id: number | string, ids: ReadonlyMap<string, number>): number | undefined {
  if (typeof id === 'number') return id;
  if (id === '' || id === 'root') return 0;
  if (/^\d+$/.test(id)) return Number(id);
  return ids.get(id);
}

function unknownIdMessage(what: string, id: string): string {
  return `${what}: no container named ${describeValue(id)}; expected a number, "root", or the name of a container`;
}

/** The largest uid/gid: ids are 32 bits, and (uid_t)-1 means "no id" to the kernel. */
export const maxId = 4294967294;

/** A uid/gid (the field named by `what`) as a number, or what is wrong with it. */
export function resolveId(id: number | string, ids: ReadonlyMap<string, number>, what: string): Parsed<number> {
  const n = numericId(id, ids);
  if (n === undefined) return { ok: false, message: unknownIdMessage(what, String(id)), hint: didYouMean(String(id), ids.keys()) };
  if (n < 0) return { ok: false, message: `${what}: expected a non-negative id, got ${describeValue(n)}` };
  if (n > maxId) return { ok: false, message: `${what}: ${n} is above the largest id, ${maxId}` };
  return { ok: true, value: n };
}
