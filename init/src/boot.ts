// Early boot: filesystems, switch off the initramfs, hostname, loopback, cgroups.

import * as os from 'os';
import * as lk from 'lk';
import { chooseHostname, resolvConfAction, type NetInterface, type ResolvConfState } from './netconf.js';
import { debug, debugging, exists, listDir, log, mkdirp, readLink, readText, writeText } from './sys.js';
import { words } from './words.js';

interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

const NOSUID_NODEV_NOEXEC = lk.MS_NOSUID | lk.MS_NODEV | lk.MS_NOEXEC;

const MOUNTS: MountSpec[] = [
  { source: 'proc', target: '/proc', fstype: 'proc', flags: NOSUID_NODEV_NOEXEC },
  { source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: NOSUID_NODEV_NOEXEC },
  { source: 'devtmpfs', target: '/dev', fstype: 'devtmpfs', flags: lk.MS_NOSUID, data: 'mode=0755' },
  { source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: lk.MS_NOSUID | lk.MS_NOEXEC, data: 'gid=5,mode=0620,ptmxmode=0666' },
  { source: 'shm', target: '/dev/shm', fstype: 'tmpfs', flags: lk.MS_NOSUID | lk.MS_NODEV, data: 'mode=1777' },
  { source: 'run', target: '/run', fstype: 'tmpfs', flags: lk.MS_NOSUID | lk.MS_NODEV, data: 'mode=0755' },
  { source: 'tmp', target: '/tmp', fstype: 'tmpfs', flags: lk.MS_NOSUID | lk.MS_NODEV, data: 'mode=1777' },
  { source: 'var', target: '/var', fstype: 'tmpfs', flags: lk.MS_NOSUID | lk.MS_NODEV, data: 'mode=0755' },
  { source: 'cgroup2', target: '/sys/fs/cgroup', fstype: 'cgroup2', flags: NOSUID_NODEV_NOEXEC, data: 'nsdelegate' },
];

/** The mount points in /proc/self/mountinfo (empty before /proc is mounted). */
function mountPoints(): Set<string> {
  const info = readText('/proc/self/mountinfo') ?? '';
  return new Set(info.split('\n').map((line) => line.split(' ')[4] ?? ''));
}

function mountOne(m: MountSpec, mounted: Set<string>): void {
  try {
    mkdirp(m.target);
    if (m.target !== '/proc' && mounted.has(m.target)) return; // e.g. devtmpfs automounted by the kernel
    lk.mount(m.source, m.target, m.fstype, m.flags, m.data ?? null);
  } catch (e) {
    log(`lk-init: mount ${m.target}: ${(e as Error).message}`);
  }
}

/** `procCarried`: the root switch brought the init's own /proc along (leaveInitramfs). */
export function mountFilesystems(procCarried: boolean): void {
  const [proc, ...rest] = MOUNTS;
  if (!(procCarried && mountPoints().has('/proc'))) mountOne(proc!, new Set());
  // Read once /proc is there: none of our own mounts hides another of the list.
  const mounted = mountPoints();
  for (const m of rest) mountOne(m, mounted);
  // Shared, as on LinuxKit and systemd: a container that binds with rshared (the mount image)
  // mounts for the whole node. Containers still get rprivate unless they ask otherwise.
  try {
    lk.mount(null, '/', null, lk.MS_SHARED | lk.MS_REC);
  } catch (e) {
    debug(`/ stays private: ${(e as Error).message}`); // EINVAL when / is no mount point (chroot)
  }
  try {
    mkdirp('/var/log');
    mkdirp('/var/run');
  } catch (e) {
    log(`lk-init: ${(e as Error).message}`);
  }
}

/** The kernel's initial rootfs (ramfs or tmpfs) shows as fstype "rootfs". Needs /proc. */
export function rootIsInitramfs(): boolean {
  const mounts = readText('/proc/mounts') ?? '';
  return mounts.split('\n').some((line) => {
    const f = line.split(' ');
    return f[1] === '/' && f[2] === 'rootfs';
  });
}

/** Moves the mount at `from` to `to`; where the kernel refuses (a shared parent), unmounts it. */
function carryMount(from: string, to: string): void {
  try {
    lk.mount(from, to, null, lk.MS_MOVE);
  } catch (e) {
    debug(`${from} not moved, unmounted: ${(e as Error).message}`);
    lk.umount(from, lk.MNT_DETACH);
  }
}

/**
 * Leaves the kernel's rootfs (call only when / is it: rootIsInitramfs), which containers cannot
 * pivot_root away from, for a bind mount of itself moved over / (it has a parent mount, so
 * pivot_root works), without copying a file. A plain bind mount leaves submounts behind: the
 * ones in `carry` (the /proc that found the initramfs) are moved into it (or unmounted where
 * the kernel refuses), any other is left hidden. Unmounting /proc waited for an expedited RCU
 * grace period and mounting it again retraced the kernel's proc setup: 740 of the 9,700
 * blocks of code TCG translated between `lk-init: start` and `ready` for three services.
 */
export function leaveInitramfs(carry: string[]): boolean {
  const newRoot = '/.lk-root';
  try {
    mkdirp(newRoot, 0o755);
    lk.mount('/', newRoot, null, lk.MS_BIND);
    for (const m of carry) carryMount(m, `${newRoot}${m}`);
    lk.switchRoot(newRoot);
    os.remove(newRoot); // the mount point, seen through the bind mount: an empty directory now
    return true;
  } catch (e) {
    log(`lk-init: cannot leave the initramfs (containers may fail to pivot_root): ${(e as Error).message}`);
    return false;
  }
}

/** The links in /sys/class/net, as the hostname choice needs them. */
function netInterfaces(): NetInterface[] {
  return listDir('/sys/class/net').map((name) => {
    const dir = `/sys/class/net/${name}`;
    return {
      name,
      ifindex: Number((readText(`${dir}/ifindex`) ?? '').trim()) || 0,
      mac: (readText(`${dir}/address`) ?? '').trim(),
      type: Number((readText(`${dir}/type`) ?? '').trim()) || 0,
      hasDevice: exists(`${dir}/device`),
    };
  });
}

/** /etc/hostname, else linuxkit-<MAC of the first NIC>, else linuxkit. Call after the modules are loaded. */
export function setHostname(): void {
  try {
    const name = chooseHostname(readText('/etc/hostname'), netInterfaces());
    lk.sethostname(name);
    debug(`hostname ${name}`);
  } catch (e) {
    log(`lk-init: hostname: ${(e as Error).message}`);
  }
}

function resolvConfState(ipOption: string | undefined): ResolvConfState {
  const path = '/etc/resolv.conf';
  const target = readLink(path);
  let etc: ResolvConfState['etc'];
  if (target !== null) etc = { kind: 'symlink', target, targetExists: os.stat(path)[1] === 0 };
  else etc = exists(path) ? { kind: 'other' } : { kind: 'absent' };
  return { etc, ipOption, pnpExists: exists('/proc/net/pnp') };
}

/**
 * /etc/resolv.conf: kept if present; a link to /proc/net/pnp when the kernel configured the
 * network from ip= (its nameservers); otherwise a link to /run/resolvconf/resolv.conf, created
 * empty here and written by the dhcpcd image, so services can bind it from the start.
 */
export function setupResolvConf(ipOption: string | undefined): void {
  try {
    const action = resolvConfAction(resolvConfState(ipOption));
    if (action.kind === 'keep') return;
    mkdirp('/etc');
    if (action.kind === 'link-pnp') {
      const rc = os.symlink('/proc/net/pnp', '/etc/resolv.conf');
      if (rc < 0) throw new Error(`symlink /etc/resolv.conf: errno ${-rc}`);
      debug('/etc/resolv.conf -> /proc/net/pnp');
    } else if (action.kind === 'link-resolvconf') {
      mkdirp(action.target.slice(0, action.target.lastIndexOf('/')));
      writeText(action.target, '');
      const rc = os.symlink(action.target, '/etc/resolv.conf');
      if (rc < 0) throw new Error(`symlink /etc/resolv.conf: errno ${-rc}`);
      debug(`/etc/resolv.conf -> ${action.target}`);
    } else {
      mkdirp(action.path.slice(0, action.path.lastIndexOf('/')) || '/');
      writeText(action.path, '');
      debug(`${action.path}: created empty`);
    }
  } catch (e) {
    log(`lk-init: resolv.conf: ${(e as Error).message}`);
  }
}

export function loopbackUp(): void {
  try {
    lk.ifup('lo');
  } catch (e) {
    log(`lk-init: loopback: ${(e as Error).message}`);
  }
}

/** Lets child cgroups use every controller the kernel offers. */
export function enableCgroupControllers(): void {
  const root = '/sys/fs/cgroup';
  const controllers = words(readText(`${root}/cgroup.controllers`) ?? '');
  try {
    // One write is the fast path; it fails as a whole if any controller is refused.
    writeText(`${root}/cgroup.subtree_control`, controllers.map((c) => `+${c}`).join(' '));
  } catch {
    for (const c of controllers) {
      try {
        writeText(`${root}/cgroup.subtree_control`, `+${c}`);
      } catch (e) {
        debug(`cgroup controller ${c}: ${(e as Error).message}`);
      }
    }
  }
  // Read back only for the debug line: without lk.debug the file is not opened at all.
  if (debugging()) debug(`cgroup controllers enabled: ${(readText(`${root}/cgroup.subtree_control`) ?? '').trim()}`);
}
