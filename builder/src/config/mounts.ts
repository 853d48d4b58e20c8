import type { Parsed } from './rlimits.js';
import { didYouMean } from './suggest.js';

/** An OCI runtime-spec mount. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** Options the kernel or the runtime-spec understands for mounts; "key=value" options pass as they are. */
export const mountOptions = [
  'async',
  'atime',
  'bind',
  'defaults',
  'dev',
  'diratime',
  'dirsync',
  'exec',
  'iversion',
  'lazytime',
  'loud',
  'mand',
  'noatime',
  'nodev',
  'nodiratime',
  'noexec',
  'noiversion',
  'nolazytime',
  'nomand',
  'norelatime',
  'nostrictatime',
  'nosuid',
  'nosymfollow',
  'private',
  'rbind',
  'relatime',
  'remount',
  'ro',
  'rprivate',
  'rshared',
  'rslave',
  'runbindable',
  'rw',
  'shared',
  'silent',
  'slave',
  'strictatime',
  'suid',
  'symfollow',
  'sync',
  'unbindable',
  'tmpcopyup',
  'idmap',
  'ridmap',
  'rro',
  'rrw',
  'rnosuid',
  'rsuid',
  'rnodev',
  'rdev',
  'rnoexec',
  'rexec',
  'rnoatime',
  'ratime',
  'rrelatime',
  'rnorelatime',
  'rstrictatime',
  'rnostrictatime',
  'rnodiratime',
  'rdiratime',
  'newinstance',
];
const knownOptions = new Set(mountOptions);

function optionProblem(options: string[], text: string): Parsed<never> | undefined {
  for (const o of options) {
    if (o.includes('=')) continue;
    if (!knownOptions.has(o)) return { ok: false, message: `unknown mount option "${o}" in "${text}"`, hint: didYouMean(o, mountOptions) };
  }
  return undefined;
}

/**
 * A bind "source:destination[:options]" as LinuxKit reads it. Without options it becomes
 * rw,rbind,rprivate; with options, rbind is added unless a bind flavour is already there.
 */
export function parseBind(text: string): Parsed<OciMount> {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    return { ok: false, message: `cannot parse bind "${text}"; expected "source:destination" or "source:destination:options"` };
  }
  const [source, destination, opts] = parts;
  if (!destination.startsWith('/')) return { ok: false, message: `bind "${text}": destination "${destination}" is not an absolute path` };
  let options = ['rw', 'rbind', 'rprivate'];
  if (opts !== undefined) {
    options = opts.split(',').filter((o) => o !== '');
    const problem = optionProblem(options, text);
    if (problem) return problem;
    if (!options.includes('bind') && !options.includes('rbind')) options.push('rbind');
  }
  return { ok: true, value: { destination, type: 'bind', source, options } };
}

/** A tmpfs "destination[:options]", like docker --tmpfs. */
export function parseTmpfs(text: string): Parsed<OciMount> {
  const parts = text.split(':');
  if (parts.length > 2 || !parts[0])
    return { ok: false, message: `cannot parse tmpfs "${text}"; expected "destination" or "destination:options"` };
  const [destination, opts] = parts;
  if (!destination.startsWith('/')) return { ok: false, message: `tmpfs "${text}": destination "${destination}" is not an absolute path` };
  const options = opts === undefined ? [] : opts.split(',').filter((o) => o !== '');
  const problem = optionProblem(options, text);
  if (problem) return problem;
  return { ok: true, value: { destination, type: 'tmpfs', source: 'tmpfs', options } };
}

function defaultMountpoint(type: string): string | undefined {
  return (
    {
      proc: '/proc',
      devpts: '/dev/pts',
      sysfs: '/sys',
      cgroup: '/sys/fs/cgroup',
      cgroup2: '/sys/fs/cgroup',
      mqueue: '/dev/mqueue',
    } as Record<string, string>
  )[type];
}

/** A full mount entry with LinuxKit's inference: type from a well-known source, destination from the type. */
/**
 * Fills in a mount's type, destination and source. `runtime.mounts` (done by the init on the
 * host) may name a relative destination, which LinuxKit resolves against the container's
 * rootfs; it must stay inside it.
 */
export function completeMount(
  m: { destination?: string; type?: string; source?: string; options?: string[] },
  where: 'container' | 'runtime' = 'container',
): Parsed<OciMount> {
  let type = m.type ?? '';
  const source0 = m.source ?? '';
  if (!type && ['mqueue', 'devpts', 'proc', 'sysfs', 'cgroup', 'cgroup2'].includes(source0)) type = source0;
  if (!type && m.destination === '/dev') type = 'tmpfs';
  if (!type)
    return {
      ok: false,
      message: `mount${m.destination ? ` for ${m.destination}` : ''} has no type; expected a type such as bind, tmpfs or proc`,
    };
  const destination = m.destination || defaultMountpoint(type);
  if (!destination) return { ok: false, message: `mount of type ${type} has no destination; expected an absolute path` };
  if (!destination.startsWith('/')) {
    if (where === 'container') return { ok: false, message: `mount destination "${destination}" is not an absolute path` };
    if (destination.split('/').includes('..')) {
      return {
        ok: false,
        message: `runtime mount destination "${destination}" leaves the container's rootfs`,
        hint: 'a relative destination is resolved against the rootfs; drop the ".." parts',
      };
    }
  }
  const options = m.options ?? [];
  const problem = optionProblem(options, `${type} on ${destination}`);
  if (problem) return problem;
  return { ok: true, value: { destination, type, source: source0 || type, options } };
}

/**
 * The mounts every container gets (LinuxKit's set plus Docker's /dev/shm and /dev/mqueue, with cgroup2), before the YAML's binds, tmpfs
 * and mounts. A read-only container gets read-only /dev and /sys.
 */
export function defaultMounts(readonly: boolean): OciMount[] {
  const ro = readonly ? ['ro'] : [];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec', 'relatime'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', ...ro] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

function depth(path: string): number {
  return path.replace(/\/+$/, '').split('/').filter(Boolean).length;
}

/**
 * Mounts keyed by destination (a later one replaces an earlier one at the same place), then
 * ordered so parents come before children: /dev before /dev/pts. The order is otherwise stable.
 */
export function orderMounts(mounts: OciMount[]): OciMount[] {
  const byDest = new Map<string, OciMount>();
  for (const m of mounts) {
    const key = m.destination.replace(/\/+$/, '') || '/';
    byDest.delete(key);
    byDest.set(key, m);
  }
  return [...byDest.values()]
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map(({ m }) => m);
}
