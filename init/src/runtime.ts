// runtime.json of a bundle -> what the init does around the container. Pure.

import type { NamespaceType, RestartPolicy, RuntimeInterface, RuntimeJson, RuntimeMount } from './runtime-json.js';

// Records, so that the compiler checks these lists against the contract's unions; only their keys are used.
const namespaceTypes: Record<NamespaceType, true> = { cgroup: true, ipc: true, mnt: true, net: true, pid: true, user: true, uts: true };
const restartPolicies: Record<RestartPolicy, true> = { always: true, 'on-failure': true, never: true };

export const NAMESPACE_TYPES = Object.keys(namespaceTypes) as readonly NamespaceType[];
const IFNAME = /^[^\s/:]{1,15}$/;

const POLICIES = Object.keys(restartPolicies) as readonly RestartPolicy[];

function stringList(value: unknown, field: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  problems.push(`${field} must be a list of strings`);
  return [];
}

/**
 * Parses runtime.json text. A missing file (null) means defaults; invalid
 * fields fall back to defaults and are reported in `problems`, because a
 * service with a broken runtime.json should still start. Mounts are checked
 * one by one as they are mounted (planMount).
 */
export function parseRuntime(text: string | null, defaultRestart: RestartPolicy): { spec: RuntimeJson; problems: string[] } {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  if (text !== null && text.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
      else problems.push('runtime.json must hold an object');
    } catch (e) {
      problems.push(`runtime.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  let restart = defaultRestart;
  if (raw.restart !== undefined) {
    if (typeof raw.restart === 'string' && POLICIES.includes(raw.restart as RestartPolicy)) restart = raw.restart as RestartPolicy;
    else problems.push(`restart must be one of ${POLICIES.join(', ')}`);
  }
  const cgroups = stringList(raw.cgroups, 'cgroups', problems);
  let mounts: RuntimeMount[] = [];
  if (raw.mounts !== undefined && raw.mounts !== null) {
    if (Array.isArray(raw.mounts) && raw.mounts.every((m) => m && typeof m === 'object')) mounts = raw.mounts as RuntimeMount[];
    else problems.push('mounts must be a list of mount objects');
  }
  return {
    spec: {
      restart,
      depends: stringList(raw.depends, 'depends', problems),
      mkdir: stringList(raw.mkdir, 'mkdir', problems),
      cgroups,
      mounts,
      interfaces: parseInterfaces(raw.interfaces, problems),
      bindNS: parseBindNS(raw.bindNS, problems),
    },
    problems,
  };
}

function parseInterfaces(value: unknown, problems: string[]): RuntimeInterface[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push('interfaces must be a list of interface objects');
    return [];
  }
  const out: RuntimeInterface[] = [];
  value.forEach((v: unknown, i) => {
    const o = v as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return problems.push(`interfaces[${i}] must be an object`);
    if (typeof o.name !== 'string' || !IFNAME.test(o.name))
      return problems.push(`interfaces[${i}].name must be an interface name of 1-15 characters`);
    if (o.peer !== undefined && (typeof o.peer !== 'string' || !IFNAME.test(o.peer))) {
      return problems.push(`interfaces[${i}].peer must be an interface name of 1-15 characters`);
    }
    if (o.add !== undefined && (typeof o.add !== 'string' || o.add === ''))
      return problems.push(`interfaces[${i}].add must be a link kind such as veth`);
    const add = (o.add as string | undefined) ?? (o.peer !== undefined ? 'veth' : undefined);
    if (add === 'veth' && o.peer === undefined) return problems.push(`interfaces[${i}]: a veth pair needs a peer`);
    const spec: RuntimeInterface = { name: o.name };
    if (add !== undefined) spec.add = add;
    if (o.peer !== undefined) spec.peer = o.peer as string;
    if (o.createInRoot === true) spec.createInRoot = true;
    out.push(spec);
    return undefined;
  });
  return out;
}

function parseBindNS(value: unknown, problems: string[]): RuntimeJson['bindNS'] {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push('bindNS must be an object of namespace paths');
    return {};
  }
  const out: RuntimeJson['bindNS'] = {};
  for (const [ns, path] of Object.entries(value as Record<string, unknown>)) {
    if (!NAMESPACE_TYPES.includes(ns as NamespaceType))
      problems.push(`bindNS.${ns}: unknown namespace (expected one of ${NAMESPACE_TYPES.join(', ')})`);
    else if (typeof path !== 'string' || !path.startsWith('/')) problems.push(`bindNS.${ns} must be an absolute path`);
    else out[ns as NamespaceType] = path;
  }
  return out;
}

/** What the init does to the network once the container's process `pid` exists. */
export type InterfaceStep =
  | { op: 'add'; name: string; kind: string; peer?: string }
  | { op: 'move'; name: string; pid: number; newName: string };

/**
 * LinuxKit's semantics: a veth pair (or any `add` kind) is created in the
 * init's namespace and the `name` end moved into the container's; without
 * `add`, an existing interface is moved. New links get a temporary name in
 * the init's namespace (so they cannot clash with its interfaces) and take
 * their real name as they move.
 */
export function interfaceSteps(interfaces: RuntimeInterface[], pid: number): InterfaceStep[] {
  const steps: InterfaceStep[] = [];
  interfaces.forEach((iface, i) => {
    if (iface.add === undefined) {
      steps.push({ op: 'move', name: iface.name, pid, newName: iface.name });
      return;
    }
    const temp = `lk${pid}i${i}`.slice(0, 15);
    steps.push(
      iface.add === 'veth' ? { op: 'add', name: temp, kind: 'veth', peer: iface.peer! } : { op: 'add', name: temp, kind: iface.add },
    );
    steps.push({ op: 'move', name: temp, pid, newName: iface.name });
  });
  return steps;
}

/** bindNS -> bind mounts of /proc/<pid>/ns/<type>, in a stable order. */
export function bindSteps(bindNS: RuntimeJson['bindNS'], pid: number): { source: string; target: string }[] {
  return NAMESPACE_TYPES.filter((ns) => bindNS[ns] !== undefined).map((ns) => ({ source: `/proc/${pid}/ns/${ns}`, target: bindNS[ns]! }));
}

/** True if the init must act between creating and starting the container. */
export function needsStagedStart(spec: RuntimeJson): boolean {
  return spec.interfaces.length > 0 || Object.keys(spec.bindNS).length > 0;
}

/** "000-hello" -> "hello": the ordering prefix the builder adds to onboot/onshutdown bundles. */
export function bundleName(dirName: string): string {
  const m = /^\d+-(.+)$/.exec(dirName);
  return m ? m[1]! : dirName;
}
