import type { RuntimeJson } from '../../../init/src/runtime-json.js';
import type { ImageConfig } from '../oci/media-types.js';
import { dockerDefaultCapabilities, expandCapabilities } from './capabilities.js';
import { ConfigError } from './diagnostics.js';
import { resolveId } from './ids.js';
import { labelDefaults } from './label.js';
import { parseMode } from './modes.js';
import { completeMount, defaultMounts, orderMounts, parseBind, parseTmpfs, type OciMount } from './mounts.js';
import { parseRlimit, type Parsed } from './rlimits.js';
import { dockerDefaultSeccomp } from './seccomp-default.js';
import type { ImageFields, ImageSpec } from './types.js';

export { configJson } from './config-json.js';
export { labelDefaults } from './label.js';

export type ContainerKind = 'onboot' | 'service' | 'onshutdown' | 'volume';

/** runtime.json: its one contract is shared with the init, which reads it. */
export type BundleRuntime = RuntimeJson;

export interface BundleConfig {
  /** An OCI runtime-spec config.json; 64-bit limits are bigints, so write it with configJson. */
  config: object;
  runtime: BundleRuntime;
}

export const ociVersion = '1.1.0';
export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's defaults for unprivileged containers; a container with CAP_SYS_ADMIN gets none, as --privileged does. */
export const dockerMaskedPaths = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const dockerReadonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const cgroupDirs: Record<ContainerKind, string> = { onboot: 'onboot', service: 'services', onshutdown: 'onshutdown', volume: 'volumes' };

/**
 * The OCI config and runtime settings of one container, as LinuxKit's moby tool builds them:
 * the image config, then the org.mobyproject.config label's defaults, then the YAML (a field
 * set in the YAML replaces the label's; capabilities.add and binds.add append). Pure and
 * deterministic: the output is hashed into reproducible images. Every problem is collected and
 * thrown at once as a ConfigError naming the container.
 */
export function bundleConfig(
  image: ImageSpec,
  imageConfig: ImageConfig,
  kind: ContainerKind,
  ctx: { ids?: ReadonlyMap<string, number> } = {},
): BundleConfig {
  const s = settings(image, labelDefaults(image, imageConfig));
  const caps = capabilitySets(s);
  const readonly = s.pick('readonly') ?? false;
  const process = processSection(s, imageConfig, caps, ctx.ids ?? new Map());
  const mounts = mountsSection(s, readonly);
  const linux = linuxSection(s, kind, caps);
  const runtime = runtimeSection(s, kind);
  if (s.problems.length) {
    throw new ConfigError(s.problems.map((message) => ({ file: `container ${image.name} (${image.image})`, line: 1, column: 1, message })));
  }
  const config = compact({
    ociVersion,
    process,
    root: { path: 'rootfs', readonly },
    hostname: s.pick('hostname') || undefined,
    mounts,
    annotations: nonEmpty(s.pick('annotations')),
    linux,
  });
  return { config, runtime };
}

/** One container's settings as the sections read them, and the problems they find. */
interface Settings {
  image: ImageSpec;
  label: ImageFields;
  /** The YAML's value where it sets one, else the label's. */
  pick<K extends keyof ImageFields>(key: K): ImageFields[K];
  /** The label's list, then the YAML's: these two append. */
  added(key: 'capabilities.add' | 'binds.add'): string[];
  /** A parsed value, or undefined with its problem recorded. */
  need<T>(p: Parsed<T>): T | undefined;
  problems: string[];
}

function settings(image: ImageSpec, label: ImageFields): Settings {
  const problems: string[] = [];
  return {
    image,
    label,
    problems,
    pick: (key) => (image[key] !== undefined ? image[key] : label[key]),
    added: (key) => [...(label[key] ?? []), ...(image[key] ?? [])],
    need: (p) => {
      if (p.ok) return p.value;
      problems.push(p.message + (p.hint ? ` (${p.hint})` : ''));
      return undefined;
    },
  };
}

interface CapabilitySets {
  effective: string[];
  ambient: string[];
  bounding: string[];
  /** CAP_SYS_ADMIN, as docker --privileged: no masked or read-only paths by default. */
  privileged: boolean;
}

function capabilitySets(s: Settings): CapabilitySets {
  const effective = unique([
    ...expandCapabilities(s.pick('capabilities') ?? dockerDefaultCapabilities),
    ...s.added('capabilities.add'),
  ]).sort();
  const ambient = unique(expandCapabilities(s.pick('ambient') ?? [])).sort();
  const bounding = unique([...effective, ...ambient]).sort();
  return { effective, ambient, bounding, privileged: effective.includes('CAP_SYS_ADMIN') };
}

/** An rlimit of config.json; the limits are bigints so that 2^64-1 stays exact (see configJson). */
export interface OciRlimit {
  type: string;
  hard: bigint;
  soft: bigint;
}

/** config.json's process: user, args, env, cwd, capabilities, rlimits. */
function processSection(s: Settings, imageConfig: ImageConfig, caps: CapabilitySets, ids: ReadonlyMap<string, number>): object {
  const id = (v: number | string | undefined, what: string): number => s.need(resolveId(v ?? 0, ids, what)) ?? 0;
  const user = imageUser(imageConfig.User);
  const uid = s.pick('uid') !== undefined ? id(s.pick('uid'), 'uid') : user.uid;
  const gid = s.pick('gid') !== undefined ? id(s.pick('gid'), 'gid') : user.gid;
  const additionalGids = (s.pick('additionalGids') ?? []).map((g) => id(g, 'additionalGids'));

  const env = [...(s.pick('env') ?? imageConfig.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(defaultPath);
  const rlimits: OciRlimit[] = (s.pick('rlimits') ?? [])
    .flatMap((r) => maybe(s.need(parseRlimit(r))))
    .map((r) => ({ type: r.type, hard: r.hard, soft: r.soft }));
  const { bounding, effective, ambient } = caps;
  return compact({
    terminal: false,
    user: compact({ uid, gid, additionalGids: nonEmpty(additionalGids) }),
    args: s.pick('command') ?? [...(imageConfig.Entrypoint ?? []), ...(imageConfig.Cmd ?? [])],
    env,
    cwd: s.image.cwd || s.label.cwd || imageConfig.WorkingDir || '/',
    capabilities: { bounding, effective, inheritable: bounding, permitted: bounding, ambient },
    rlimits: nonEmpty(rlimits),
    noNewPrivileges: s.pick('noNewPrivileges') ?? false,
    oomScoreAdj: s.pick('oomScoreAdj'),
  });
}

/** config.json's mounts: the defaults, then tmpfs, binds and mounts; parents before children. */
function mountsSection(s: Settings, readonly: boolean): object[] {
  const mounts: OciMount[] = [...defaultMounts(readonly)];
  for (const t of s.pick('tmpfs') ?? []) mounts.push(...maybe(s.need(parseTmpfs(t))));
  for (const b of unique([...(s.pick('binds') ?? []), ...s.added('binds.add')])) mounts.push(...maybe(s.need(parseBind(b))));
  for (const m of s.pick('mounts') ?? []) mounts.push(...maybe(s.need(completeMount(m))));
  return orderMounts(mounts).map((m) =>
    compact({ destination: m.destination, type: m.type, source: m.source, options: nonEmpty(m.options) }),
  );
}

/** config.json's linux: namespaces, devices, resources, seccomp, masked and read-only paths. */
function linuxSection(s: Settings, kind: ContainerKind, caps: CapabilitySets): object {
  const { devices, deviceRules } = devicesOf(s.pick('devices') ?? [], s.need);
  const resources = { ...(s.pick('resources') ?? {}) } as Record<string, unknown>;
  if (deviceRules.length) resources.devices = [...((resources.devices as object[] | undefined) ?? []), ...deviceRules];
  const sysctl = s.pick('sysctl');
  // lkbuild extension: `seccomp: default` is Docker's default profile for this container's capabilities.
  const seccomp = s.pick('seccomp');
  return compact({
    uidMappings: nonEmpty(s.pick('uidMappings')),
    gidMappings: nonEmpty(s.pick('gidMappings')),
    sysctl: sysctl && Object.keys(sysctl).length ? Object.fromEntries(Object.entries(sysctl).map(([k, v]) => [k, String(v)])) : undefined,
    resources: Object.keys(resources).length ? resources : undefined,
    cgroupsPath: s.pick('cgroupsPath') || `/${cgroupDirs[kind]}/${s.image.name}`,
    namespaces: namespacesOf(s.pick),
    devices: nonEmpty(devices),
    seccomp: seccomp === 'default' ? dockerDefaultSeccomp(caps.effective) : seccomp,
    rootfsPropagation: s.pick('rootfsPropagation') || undefined,
    maskedPaths: s.pick('maskedPaths') ?? (caps.privileged ? [] : dockerMaskedPaths),
    readonlyPaths: s.pick('readonlyPaths') ?? (caps.privileged ? [] : dockerReadonlyPaths),
  });
}

/** runtime.json: what the init does around the container (the label's runtime merged under the YAML's). */
function runtimeSection(s: Settings, kind: ContainerKind): BundleRuntime {
  const { image, label } = s;
  const rt = { ...(label.runtime ?? {}), ...(image.runtime ?? {}) };
  return {
    restart: image.restart ?? label.restart ?? (kind === 'service' ? 'always' : 'never'),
    depends: image.depends ?? label.depends ?? [],
    mkdir: rt.mkdir ?? [],
    mounts: (rt.mounts ?? []).flatMap((m) => maybe(s.need(completeMount(m, 'runtime')))),
    interfaces: (rt.interfaces ?? []).map((i) =>
      compact({ name: i.name, add: i.add ?? (i.peer ? 'veth' : undefined), peer: i.peer, createInRoot: i.createInRoot ?? false }),
    ),
    bindNS: compact({ ...(label.runtime?.bindNS ?? {}), ...(image.runtime?.bindNS ?? {}) }),
    cgroups: rt.cgroups ?? [],
  };
}

/** "uid", "uid:gid" from the image config; names need the image's /etc/passwd, so they count as root. */
function imageUser(user: string | undefined): { uid: number; gid: number } {
  const [u, g] = (user ?? '').split(':');
  const uid = /^\d+$/.test(u ?? '') ? Number(u) : 0;
  return { uid, gid: /^\d+$/.test(g ?? '') ? Number(g) : uid };
}

/** LinuxKit's namespace defaults: net, ipc, uts from the host; pid new unless "host"; mount always new. */
function namespacesOf(pick: <K extends keyof ImageFields>(key: K) => ImageFields[K]): object[] {
  const out: object[] = [];
  const add = (type: string, value: string | undefined, fallback: string) => {
    const v = value || fallback;
    if (v === 'host' || v === 'root') return;
    out.push(v === 'new' || v === 'none' ? { type } : { type, path: v });
  };
  add('network', pick('net'), 'host');
  add('ipc', pick('ipc'), 'host');
  add('uts', pick('uts'), 'host');
  add('pid', pick('pid'), 'new');
  add('user', pick('userns'), 'host');
  out.push({ type: 'mount' });
  return out;
}

function devicesOf(
  list: NonNullable<ImageFields['devices']>,
  need: <T>(p: Parsed<T>) => T | undefined,
): { devices: object[]; deviceRules: object[] } {
  const devices: object[] = [];
  const deviceRules: object[] = [];
  for (const d of list) {
    if (d.path === 'all') {
      deviceRules.push({ allow: true, type: d.type ?? 'a', access: 'rwm' });
      continue;
    }
    const fileMode = d.mode !== undefined ? need(parseMode(d.mode)) : undefined;
    devices.push(compact({ path: d.path, type: d.type, major: d.major, minor: d.minor, fileMode, uid: d.uid, gid: d.gid }));
    deviceRules.push(compact({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' }));
  }
  return { devices, deviceRules };
}

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

function maybe<T>(v: T | undefined): T[] {
  return v === undefined ? [] : [v];
}

function nonEmpty<T extends object>(v: T | undefined): T | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.length : Object.keys(v).length) ? v : undefined;
}

/** The object without undefined fields, key order kept. */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
