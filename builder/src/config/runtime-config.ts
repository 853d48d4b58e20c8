import { dockerDefaultCapabilities, expandCapabilities } from './capabilities.js';
import { checkImageFields, reporter } from './check.js';
import { ConfigError, type Diagnostic } from './diagnostics.js';
import { parseMode } from './modes.js';
import { completeMount, defaultMounts, orderMounts, parseBind, parseTmpfs, type OciMount } from './mounts.js';
import { parseRlimit, unlimited, type Parsed } from './rlimits.js';
import { imageSchemaDiagnostics } from './schema.js';
import { dockerDefaultSeccomp } from './seccomp-default.js';
import { YamlSource } from './source.js';
import type { ImageFields, ImageSpec, Restart } from './types.js';

/** The parts of an OCI image config that shape a container. */
export interface OciImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
}

export type ContainerKind = 'onboot' | 'service' | 'onshutdown' | 'volume';

export interface BundleRuntime {
  restart: Restart;
  depends: string[];
  mkdir: string[];
  mounts: object[];
  interfaces: object[];
  bindNS: object;
  cgroups: string[];
}

export interface BundleConfig {
  /** An OCI runtime-spec config.json. Serialise it with configJson to keep 64-bit limits exact. */
  config: object;
  runtime: BundleRuntime;
}

export const labelKey = 'org.mobyproject.config';
export const ociVersion = '1.1.0';
export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's defaults for unprivileged containers; a container with CAP_SYS_ADMIN gets none, as --privileged does. */
export const dockerMaskedPaths = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const dockerReadonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const cgroupDirs: Record<ContainerKind, string> = { onboot: 'onboot', service: 'services', onshutdown: 'onshutdown', volume: 'volumes' };

/**
 * The OCI config and runtime settings of one container, as LinuxKit's moby tool builds them:
 * the image config, then the org.mobyproject.config label's defaults, then the YAML (a field
 * set in the YAML replaces the label's; capabilities.add and binds.add append). Pure and
 * deterministic: the output is hashed into reproducible images.
 */
export function bundleConfig(
  image: ImageSpec,
  imageConfig: OciImageConfig,
  kind: ContainerKind,
  ctx: { idMap?: (name: string) => number | undefined } = {},
): BundleConfig {
  const label = labelDefaults(image, imageConfig);
  const problems: string[] = [];
  const need = <T>(p: Parsed<T>): T | undefined => {
    if (p.ok) return p.value;
    problems.push(p.message + (p.hint ? ` (${p.hint})` : ''));
    return undefined;
  };
  const pick = <K extends keyof ImageFields>(key: K): ImageFields[K] => (image[key] !== undefined ? image[key] : label[key]);
  const addList = (key: 'capabilities.add' | 'binds.add') => [...(label[key] ?? []), ...(image[key] ?? [])];

  const readonly = pick('readonly') ?? false;
  const effective = unique([...expandCapabilities(pick('capabilities') ?? dockerDefaultCapabilities), ...addList('capabilities.add')]).sort();
  const ambient = unique(expandCapabilities(pick('ambient') ?? [])).sort();
  const bounding = unique([...effective, ...ambient]).sort();
  const privileged = effective.includes('CAP_SYS_ADMIN');

  const id = (v: number | string | undefined, what: string): number => {
    if (v === undefined || v === '' || v === 'root') return 0;
    if (typeof v === 'number') return v;
    if (/^\d+$/.test(v)) return Number(v);
    const found = ctx.idMap?.(v);
    if (found === undefined) problems.push(`${what}: no container named "${v}"; expected a number, "root", or the name of a container`);
    return found ?? 0;
  };
  const user = imageUser(imageConfig.User);
  const uid = pick('uid') !== undefined ? id(pick('uid'), 'uid') : user.uid;
  const gid = pick('gid') !== undefined ? id(pick('gid'), 'gid') : user.gid;
  const additionalGids = (pick('additionalGids') ?? []).map((g) => id(g, 'additionalGids'));

  const env = [...(pick('env') ?? imageConfig.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(defaultPath);
  const args = pick('command') ?? [...(imageConfig.Entrypoint ?? []), ...(imageConfig.Cmd ?? [])];
  const cwd = image.cwd || label.cwd || imageConfig.WorkingDir || '/';
  const rlimits = (pick('rlimits') ?? []).map((r) => need(parseRlimit(r))).filter((r) => r !== undefined);

  const mounts: OciMount[] = [...defaultMounts(readonly)];
  for (const t of pick('tmpfs') ?? []) mounts.push(...maybe(need(parseTmpfs(t))));
  for (const b of unique([...(pick('binds') ?? []), ...addList('binds.add')])) mounts.push(...maybe(need(parseBind(b))));
  for (const m of pick('mounts') ?? []) mounts.push(...maybe(need(completeMount(m))));

  const { devices, deviceRules } = devicesOf(pick('devices') ?? [], need);
  const resources = { ...(pick('resources') ?? {}) } as Record<string, unknown>;
  if (deviceRules.length) resources.devices = [...((resources.devices as object[] | undefined) ?? []), ...deviceRules];

  const sysctl = pick('sysctl');
  // lkbuild extension: `seccomp: default` is Docker's default profile for this container's capabilities.
  const seccompSetting = pick('seccomp');
  const seccomp = seccompSetting === 'default' ? dockerDefaultSeccomp(effective) : seccompSetting;
  const linux = compact({
    uidMappings: nonEmpty(pick('uidMappings')),
    gidMappings: nonEmpty(pick('gidMappings')),
    sysctl: sysctl && Object.keys(sysctl).length ? Object.fromEntries(Object.entries(sysctl).map(([k, v]) => [k, String(v)])) : undefined,
    resources: Object.keys(resources).length ? resources : undefined,
    cgroupsPath: pick('cgroupsPath') || `/${cgroupDirs[kind]}/${image.name}`,
    namespaces: namespacesOf(pick),
    devices: nonEmpty(devices),
    seccomp,
    rootfsPropagation: pick('rootfsPropagation') || undefined,
    maskedPaths: pick('maskedPaths') ?? (privileged ? [] : dockerMaskedPaths),
    readonlyPaths: pick('readonlyPaths') ?? (privileged ? [] : dockerReadonlyPaths),
  });

  const rt = { ...(label.runtime ?? {}), ...(image.runtime ?? {}) };
  const runtime: BundleRuntime = {
    restart: image.restart ?? label.restart ?? (kind === 'service' ? 'always' : 'never'),
    depends: image.depends ?? label.depends ?? [],
    mkdir: rt.mkdir ?? [],
    mounts: (rt.mounts ?? []).flatMap((m) => maybe(need(completeMount(m, 'runtime')))),
    interfaces: (rt.interfaces ?? []).map((i) => compact({ name: i.name, add: i.add ?? (i.peer ? 'veth' : undefined), peer: i.peer, createInRoot: i.createInRoot ?? false })),
    bindNS: compact({ ...(label.runtime?.bindNS ?? {}), ...(image.runtime?.bindNS ?? {}) }),
    cgroups: rt.cgroups ?? [],
  };

  if (problems.length) {
    throw new ConfigError(problems.map((message) => ({ file: `container ${image.name} (${image.image})`, line: 1, column: 1, message })));
  }

  const config = compact({
    ociVersion,
    process: compact({
      terminal: false,
      user: compact({ uid, gid, additionalGids: nonEmpty(additionalGids) }),
      args,
      env,
      cwd,
      capabilities: { bounding, effective, inheritable: bounding, permitted: bounding, ambient },
      rlimits: nonEmpty(rlimits.map((r) => ({ type: r.type, hard: limitNumber(r.hard), soft: limitNumber(r.soft) }))),
      noNewPrivileges: pick('noNewPrivileges') ?? false,
      oomScoreAdj: pick('oomScoreAdj'),
    }),
    root: { path: 'rootfs', readonly },
    hostname: pick('hostname') || undefined,
    mounts: orderMounts(mounts).map((m) => compact({ destination: m.destination, type: m.type, source: m.source, options: nonEmpty(m.options) })),
    annotations: nonEmpty(pick('annotations')),
    linux,
  });
  return { config, runtime };
}

/**
 * config.json text. RLIM_INFINITY (2^64-1) has no exact double, so it is written from its
 * decimal digits; JSON.stringify alone would print 18446744073709552000.
 */
export function configJson(config: object): string {
  return JSON.stringify(config, null, 2).replace(/\b18446744073709552000\b/g, unlimited.toString()) + '\n';
}

function limitNumber(v: bigint): number {
  return Number(v);
}

/** The label's settings, checked like YAML; a broken label is a ConfigError naming the image. */
export function labelDefaults(image: ImageSpec, imageConfig: OciImageConfig): ImageFields {
  const text = imageConfig.Labels?.[labelKey];
  if (!text) return {};
  const source = YamlSource.parse(`${image.image} label ${labelKey}`, text);
  const diagnostics: Diagnostic[] = [...source.errors];
  if (!diagnostics.length) {
    const value = source.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      diagnostics.push({ ...source.position([]), message: `the ${labelKey} label must hold a JSON object` });
    } else {
      diagnostics.push(...imageSchemaDiagnostics(source));
      checkImageFields(value as Record<string, unknown>, [], reporter(source, diagnostics));
      for (const key of ['name', 'image']) {
        if (key in value) diagnostics.push({ ...source.position([key], 'key'), message: `${key} cannot be set in the ${labelKey} label` });
      }
    }
  }
  if (diagnostics.length) throw new ConfigError(diagnostics);
  return source.value as ImageFields;
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

function devicesOf(list: NonNullable<ImageFields['devices']>, need: <T>(p: Parsed<T>) => T | undefined): { devices: object[]; deviceRules: object[] } {
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
