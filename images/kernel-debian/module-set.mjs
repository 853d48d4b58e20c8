// Which of a kernel's modules a node keeps: the modules named in modules.yml, each with its
// dependency closure from modules.dep. Pure; the reading and writing is in build.mjs. The
// modules.dep reader and the closure walk are the init's own (init/src/kmodules.ts), so the
// recipe and the node read depmod's files one way.
import { parse } from 'yaml';
import { importTs } from '../lib/ts-module.mjs';

const kmodules = await importTs(new URL('../../init/src/kmodules.ts', import.meta.url));
export const { moduleName } = kmodules;

const LISTS = ['devices', 'boot', 'extra'];

/** modules.yml -> { devices, boot, extra }: lists of module names; anything else is an error naming the key. */
export function parseModuleList(text, where = 'modules.yml') {
  const doc = parse(text) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${where}: expected a mapping with ${LISTS.join(', ')}`);
  for (const key of Object.keys(doc)) {
    if (!LISTS.includes(key)) throw new Error(`${where}: unknown key "${key}" (expected ${LISTS.join(', ')})`);
  }
  const lists = {};
  for (const key of LISTS) {
    const names = doc[key] ?? [];
    const bad = Array.isArray(names) ? names.find((n) => typeof n !== 'string' || !/^[A-Za-z0-9_-]+$/.test(n)) : names;
    if (bad !== undefined) throw new Error(`${where}: ${key}: ${JSON.stringify(bad)} is not a list of module names`);
    lists[key] = names.map(moduleName);
  }
  return lists;
}

/** depmod's modules.dep, modules.alias and modules.builtin as the index the init plans with. */
export function moduleIndex({ dep, alias, builtin }) {
  return {
    dep: kmodules.parseModulesDep(dep),
    aliases: kmodules.parseModulesAlias(alias),
    builtin: kmodules.parseModulesBuiltin(builtin),
  };
}

/**
 * The modules to ship for `wanted` (module names or aliases): `paths` (relative to
 * lib/modules/<release>, sorted) are the wanted modules and every module they depend on;
 * `builtin` the wanted names the kernel has built in; `unknown` the names it has in neither form.
 */
export function selectModules(index, wanted) {
  const plan = kmodules.planLoads(wanted, index);
  const builtin = wanted.map(moduleName).filter((n) => !index.dep.has(n) && index.builtin.has(n));
  return { paths: plan.steps.map((s) => s.path).sort(), builtin, unknown: plan.unknown };
}
