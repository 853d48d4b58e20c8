// Loads kernel modules at boot: the ones named in /etc/modules-load.d/*.conf, /etc/modules
// and lk.modules=a,b, then the ones matching the devices present (sysfs modaliases).
// Thin I/O over kmodules.ts; a module that fails is logged, never fatal.

import * as lk from 'lk';
import {
  aliasBuses,
  moduleName,
  modulesForAliases,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseModulesList,
  parseModulesOption,
  parseProcModules,
  planLoads,
  type ModuleIndex,
} from './kmodules.js';
import { markers } from './markers.js';
import { debug, debugging, isDir, listDir, log, readText, uptime } from './sys.js';

const LOAD_DIRS = ['/etc/modules-load.d', '/run/modules-load.d', '/lib/modules-load.d', '/usr/lib/modules-load.d'];

/** Module names from the modules-load.d directories (a file name in an earlier one hides later ones) and /etc/modules. */
function configuredModules(): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  for (const dir of LOAD_DIRS) {
    for (const name of listDir(dir)) {
      if (!name.endsWith('.conf') || seen.has(name)) continue;
      seen.add(name);
      files.push(`${dir}/${name}`);
    }
  }
  files.sort((a, b) => (a.slice(a.lastIndexOf('/')) < b.slice(b.lastIndexOf('/')) ? -1 : 1));
  files.push('/etc/modules');
  return files.flatMap((f) => parseModulesList(readText(f) ?? ''));
}

/**
 * /sys/bus/<bus>/devices/<dev>/modalias of the buses `wanted` keeps: those an alias can match
 * (reading a sysfs file costs the init tens of thousands of instructions under TCG).
 */
function deviceModaliases(wanted: (bus: string) => boolean): string[] {
  const found: string[] = [];
  for (const bus of listDir('/sys/bus')) {
    if (!wanted(bus)) continue;
    const devices = `/sys/bus/${bus}/devices`;
    for (const dev of listDir(devices)) {
      const alias = readText(`${devices}/${dev}/modalias`);
      if (alias && alias.trim() !== '') found.push(alias.trim());
    }
  }
  return found;
}

function loadIndex(dir: string): ModuleIndex | null {
  const dep = readText(`${dir}/modules.dep`);
  if (dep === null) return null;
  return { dep: parseModulesDep(dep), aliases: parseModulesAlias(readText(`${dir}/modules.alias`) ?? ''), builtin: new Set() };
}

/** Loads what is configured and what the devices need; `optionValue` is lk.modules from the command line. */
export function loadKernelModules(optionValue: string | undefined): void {
  const release = (readText('/proc/sys/kernel/osrelease') ?? '').trim();
  const dir = `/lib/modules/${release}`;
  if (release === '' || !isDir(dir)) {
    if (listDir('/lib/modules').length > 0) log(`lk-init: modules: /lib/modules has no ${release || '<release>'}; none loaded`);
    return;
  }
  const index = loadIndex(dir);
  if (!index) {
    log(`lk-init: modules: no ${dir}/modules.dep (run depmod when building the kernel image); none loaded`);
    return;
  }
  const requested = [...configuredModules(), ...parseModulesOption(optionValue)];
  // modules.builtin only matters for a requested name that is not a loadable module.
  if (requested.some((n) => !index.dep.has(moduleName(n)))) {
    index.builtin = parseModulesBuiltin(readText(`${dir}/modules.builtin`) ?? '');
  }
  const forDevices = modulesForAliases(deviceModaliases(aliasBuses(index.aliases)), index.aliases);
  const loaded = parseProcModules(readText('/proc/modules') ?? '');
  const plan = planLoads([...requested, ...forDevices], index, loaded);
  for (const name of plan.unknown) log(`lk-init: module ${name}: not found in ${dir}`);
  const failed = new Set<string>();
  for (const step of plan.steps) {
    const deps = index.dep.get(step.name)?.deps ?? [];
    const missing = deps.find((d) => failed.has(d));
    if (missing) {
      failed.add(step.name);
      log(`lk-init: module ${step.name}: not loaded, needs ${missing}, which failed`);
      continue;
    }
    const started = uptime();
    try {
      lk.finitModule(`${dir}/${step.path}`);
      if (debugging()) log(markers.module(step.name, (uptime() - started) * 1000, uptime()));
    } catch (e) {
      if ((e as { errno?: number }).errno === lk.EEXIST) continue; // loaded meanwhile (e.g. as a dependency)
      failed.add(step.name);
      log(`lk-init: module ${step.name}: ${(e as Error).message}`);
    }
  }
  debug(
    `modules: ${plan.steps.length - failed.size} of ${plan.steps.length} loaded (${requested.length} requested, ${forDevices.length} for devices)`,
  );
}
