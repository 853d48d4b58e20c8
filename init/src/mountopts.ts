// OCI mount options -> mount(2) flags and data, for runtime.json "mounts". Pure.

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  REC: 16384,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

/** option -> [flags to set, flags to clear] */
const FLAG_OPTIONS: Record<string, [number, number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  remount: [MS.REMOUNT, 0],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
  noatime: [MS.NOATIME, 0],
  atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0],
  diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  defaults: [0, 0],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface MountPlan {
  source: string;
  target: string;
  fstype: string | null;
  flags: number;
  /** Filesystem-specific options, comma-joined; null if none. */
  data: string | null;
  /** A read-only bind needs a second, remounting call. */
  remountReadOnly: boolean;
  /** Propagation flags for a third call, 0 if none. */
  propagation: number;
  /** Directories to create first: an overlay's upperdir and workdir (as LinuxKit does). */
  mkdirs: string[];
}

export interface OciMount {
  destination?: unknown;
  source?: unknown;
  type?: unknown;
  options?: unknown;
}

/**
 * Where a runtime.json mount goes: an absolute destination as it is, a relative one inside the
 * container's rootfs (LinuxKit's rule), never outside it.
 */
function mountTarget(destination: unknown, rootfs: string): string {
  if (typeof destination !== 'string' || destination === '') throw new Error('mount destination must be a path');
  if (destination.startsWith('/')) return destination;
  if (destination.split('/').includes('..')) throw new Error(`mount destination ${destination} leaves the container's rootfs`);
  return `${rootfs}/${destination.replace(/^(\.\/)+/, '')}`.replace(/\/+$/, '');
}

/** Plans one OCI mount of runtime.json; throws an Error naming the problem for invalid input. */
export function planMount(m: OciMount, rootfs: string): MountPlan {
  const target = mountTarget(m.destination, rootfs);
  const options = m.options === undefined ? [] : m.options;
  if (!Array.isArray(options) || !options.every((o) => typeof o === 'string')) {
    throw new Error(`mount ${target}: options must be a list of strings`);
  }
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options as string[]) {
    const f = FLAG_OPTIONS[o];
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (PROPAGATION[o] !== undefined) propagation |= PROPAGATION[o]!;
    else data.push(o);
  }
  const type = typeof m.type === 'string' && m.type !== '' ? m.type : null;
  const bind = (flags & MS.BIND) !== 0 || type === 'bind';
  if (bind) flags |= MS.BIND;
  const mkdirs = type === 'overlay' ? data.filter((o) => /^(upperdir|workdir)=/.test(o)).map((o) => o.slice(o.indexOf('=') + 1)) : [];
  return {
    source: typeof m.source === 'string' ? m.source : (type ?? 'none'),
    target,
    fstype: bind ? null : type,
    flags,
    data: data.length > 0 ? data.join(',') : null,
    remountReadOnly: bind && (flags & MS.RDONLY) !== 0,
    propagation,
    mkdirs,
  };
}
