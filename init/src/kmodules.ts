// Kernel modules: parse depmod's indexes and modules-load.d lists, match device modaliases,
// and order the loads (dependencies first). Pure; the I/O is in modload.ts.

import { words } from './words.js';

/** Module names compare with '-' and '_' equal, as modprobe does. */
export function moduleName(name: string): string {
  const trimmed = name.trim();
  return trimmed.includes('-') ? trimmed.split('-').join('_') : trimmed;
}

const KO_SUFFIXES = ['.ko', '.ko.gz', '.ko.xz', '.ko.zst'];

/** The module name of a path in modules.dep: "kernel/drivers/net/dummy.ko" -> "dummy". */
export function nameOfPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const ko = base.lastIndexOf('.ko');
  const suffix = ko < 0 ? '' : base.slice(ko);
  return moduleName(KO_SUFFIXES.includes(suffix) ? base.slice(0, ko) : base);
}

export interface ModuleEntry {
  /** Path relative to /lib/modules/<release>, as depmod writes it. */
  path: string;
  /** Names of the modules it needs, in modules.dep order (the whole closure). */
  deps: string[];
}

/** modules.dep ("path: dep-path dep-path...") -> name -> entry. */
export function parseModulesDep(text: string): Map<string, ModuleEntry> {
  const modules = new Map<string, ModuleEntry>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (line === '' || line.startsWith('#') || colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = words(line.slice(colon + 1)).map(nameOfPath);
    modules.set(nameOfPath(path), { path, deps });
  }
  return modules;
}

/** modules.builtin (one path a line) -> the names of built-in modules. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map(nameOfPath),
  );
}

export interface Alias {
  pattern: string;
  module: string;
  /**
   * The bus a device's modalias must name to match: "pci" for "pci:v00008086d...", null when
   * the pattern's literal start names none ("acpi*:PNP0C0C:*", "rtnl-link-dummy").
   */
  bus: string | null;
  /** The literal start of the pattern (up to its first special character); set on first use. */
  prefix?: string;
  /** The pattern compiled; built on first use. */
  regex?: RegExp;
}

const GLOB_SPECIALS = ['*', '?', '[', '\\'];

/** indexOf per character: in QuickJS, a regular expression's search costs several times more. */
function literalPrefix(pattern: string): string {
  let end = pattern.length;
  for (const c of GLOB_SPECIALS) {
    const at = pattern.indexOf(c);
    if (at >= 0 && at < end) end = at;
  }
  return pattern.slice(0, end);
}

function prefixOf(alias: Alias): string {
  alias.prefix ??= literalPrefix(alias.pattern);
  return alias.prefix;
}

/** The text before the first ':', when no special character comes before it. */
function busOfPattern(pattern: string): string | null {
  const colon = pattern.indexOf(':');
  if (colon < 0) return null;
  const head = pattern.slice(0, colon);
  return literalPrefix(head) === head ? head : null;
}

/**
 * modules.alias ("alias <pattern> <module>") in file order. depmod separates the fields with
 * single spaces, so one native split reads a line; a line that does not split into three
 * fields that way (tabs, runs of spaces, a comment) goes through words(). QuickJS spends
 * thousands of instructions on each call, so a line makes few, and the rest waits for a
 * device of the pattern's bus (prefixOf).
 */
export function parseModulesAlias(text: string): Alias[] {
  const aliases: Alias[] = [];
  for (const raw of text.split('\n')) {
    let f = raw.split(' ');
    if (f.length !== 3 || f[1] === '' || f[2] === '') {
      if (raw.indexOf('alias') < 0) continue; // comments and blank lines, without splitting them
      f = words(raw);
    }
    if (f.length === 3 && f[0] === 'alias') aliases.push({ pattern: f[1]!, module: moduleName(f[2]!), bus: busOfPattern(f[1]!) });
  }
  return aliases;
}

/**
 * Firmware nodes' buses: a device of another bus described by ACPI or a device tree (a
 * platform, i2c or spi device) shows its firmware node's modalias ("acpi:PNP0C0C:",
 * "of:N...") instead of one naming its own bus (the kernel's platform_uevent and the like).
 */
const FIRMWARE_BUSES = ['acpi', 'of'];

/**
 * Which buses' devices any alias can match. A device's modalias reads "<bus>:..." with its own
 * bus or a firmware node's, so a bus matters when a pattern can match that bus name (it names
 * it, or its literal start, then without a ':', begins it: "acpi*:..."), and every bus does
 * when a pattern can match a firmware node's. A pattern with neither a ':' nor a wildcard
 * (rtnl-link-dummy) matches no device.
 */
export function aliasBuses(aliases: Alias[]): (bus: string) => boolean {
  const named = new Set<string>();
  const starts: string[] = [];
  for (const a of aliases) {
    if (a.bus !== null) named.add(a.bus);
    else if (prefixOf(a) !== a.pattern) starts.push(prefixOf(a));
  }
  const matches = (bus: string) => named.has(bus) || starts.some((start) => bus.startsWith(start));
  return FIRMWARE_BUSES.some(matches) ? () => true : matches;
}

/**
 * A shell glob (fnmatch without flags: '*', '?', '[...]' with ranges and '!' or '^'
 * negation, '\' escapes) as an anchored regular expression.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => '\\' + m)}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

/** Index of the ']' closing the class that opens at `open`, or -1 (then '[' is literal). */
function classEnd(pattern: string, open: number): number {
  let j = open + 1;
  if (pattern[j] === '!' || pattern[j] === '^') j++;
  if (pattern[j] === ']') j++; // a leading ']' is a member
  const end = pattern.indexOf(']', j);
  return end;
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(c) ? '\\' + c : c;
}

export function globMatch(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

function aliasMatches(alias: Alias, text: string): boolean {
  // Most patterns fail on their literal start (pci:v<vendor>d<device>...); compile only the rest.
  const prefix = prefixOf(alias);
  if (!text.startsWith(prefix)) return false;
  if (prefix === alias.pattern) return alias.pattern === text;
  alias.regex ??= globToRegExp(alias.pattern);
  return alias.regex.test(text);
}

/** A modalias's bus ("pci" in "pci:v00008086d..."). */
function busOf(text: string): string | null {
  const colon = text.indexOf(':');
  return colon < 0 ? null : text.slice(0, colon);
}

/**
 * Modules whose alias patterns match any of `modaliases`, each once, in first-match order.
 * Each modalias is tried only against the patterns of its bus and those whose literal start
 * names none (acpi*:...), in file order: a pattern whose literal start has a ':' can only
 * match text with the same bus.
 */
export function modulesForAliases(modaliases: string[], aliases: Alias[]): string[] {
  const byBus = new Map<string, number[]>();
  const anyBus: number[] = [];
  aliases.forEach((alias, i) => {
    const bus = alias.bus;
    if (bus === null) anyBus.push(i);
    else if (byBus.has(bus)) byBus.get(bus)!.push(i);
    else byBus.set(bus, [i]);
  });
  const found: string[] = [];
  for (const modalias of modaliases) {
    const own = byBus.get(busOf(modalias) ?? '') ?? [];
    const candidates = anyBus.length === 0 ? own : [...own, ...anyBus].sort((a, b) => a - b);
    for (const i of candidates) {
      const alias = aliases[i]!;
      if (!found.includes(alias.module) && aliasMatches(alias, modalias)) found.push(alias.module);
    }
  }
  return found;
}

/** Module names from a modules-load.d file or /etc/modules: one a line, '#' and ';' comments. */
export function parseModulesList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'))
    .map((l) => words(l)[0]!);
}

/** lk.modules=a,b on the kernel command line. */
export function parseModulesOption(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface LoadStep {
  name: string;
  path: string;
}

export interface LoadPlan {
  /** Modules to load, each after its dependencies, none twice. */
  steps: LoadStep[];
  /** Requested names that are neither a module, nor an alias of one, nor built in. */
  unknown: string[];
}

export interface ModuleIndex {
  dep: Map<string, ModuleEntry>;
  aliases: Alias[];
  builtin: Set<string>;
}

/**
 * Resolves requested names (module names or aliases such as "rtnl-link-dummy") to the
 * files to load. Already loaded and built-in modules are skipped.
 */
export function planLoads(requested: string[], index: ModuleIndex, loaded: Set<string> = new Set()): LoadPlan {
  const steps: LoadStep[] = [];
  const unknown: string[] = [];
  const done = new Set<string>(loaded);
  const visit = (name: string, visiting: Set<string>): void => {
    if (done.has(name) || visiting.has(name)) return;
    const entry = index.dep.get(name);
    if (!entry) return;
    visiting.add(name);
    // depmod lists the closure so that loading from the last entry to the first works.
    for (const dep of [...entry.deps].reverse()) visit(dep, visiting);
    visiting.delete(name);
    done.add(name);
    steps.push({ name, path: entry.path });
  };
  for (const raw of requested) {
    const name = moduleName(raw);
    if (index.dep.has(name)) visit(name, new Set());
    else if (index.builtin.has(name)) continue;
    else {
      const viaAlias = modulesForAliases([raw.trim()], index.aliases).filter((m) => index.dep.has(m) || index.builtin.has(m));
      if (viaAlias.length === 0) unknown.push(raw.trim());
      for (const m of viaAlias) visit(m, new Set());
    }
  }
  return { steps, unknown };
}

/** Names in /proc/modules (first field of each line). */
export function parseProcModules(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean)
      .map(moduleName),
  );
}
