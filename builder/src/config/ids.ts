import { describeValue } from './describe.js';
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

/** What is wrong with a uid/gid (the field named by `what`) that names no container. */
export function unknownIdMessage(what: string, id: string): string {
  return `${what}: no container named ${describeValue(id)}; expected a number, "root", or the name of a container`;
}
