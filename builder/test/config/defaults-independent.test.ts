// The container defaults checked against sources outside our code: lists written here from
// Docker's and the OCI tools' documentation, `runc spec` (the OCI reference runtime's default
// config) and Debian's containers-common seccomp profile. Never our own constants.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { ImageSpec } from '../../src/config/index.js';
import { allCapabilities } from '../../src/config/capabilities.js';
import { bundleConfig } from '../../src/config/runtime-config.js';
import { dockerDefaultSeccomp } from '../../src/config/seccomp-default.js';
import { verdict, type Profile } from './seccomp-verdict.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Docker's documentation, "docker run" reference, "Runtime privilege and Linux capabilities":
 * the capabilities a container keeps by default (the table's first part).
 */
const DOCKER_DOC_DEFAULT_CAPS = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

/**
 * Masked paths: the OCI runtime-spec's `maskedPaths` as runc's `runc spec` template fills it, plus
 * /sys/devices/virtual/powercap, which Docker masks since 20.10 (CVE-2020-8694).
 */
const MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
  '/sys/devices/virtual/powercap',
];
/** Read-only paths: `readonlyPaths` of the same template, as Docker uses them. */
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const service = (extra: Partial<ImageSpec> = {}): Json =>
  bundleConfig({ name: 'svc', image: 'busybox:1', ...extra }, {}, 'service').config as Json;

describe('container defaults against independent sources', () => {
  it("a container without capabilities gets Docker's documented default set, in every set but ambient", () => {
    const caps = service().process.capabilities as Record<string, string[]>;
    for (const set of ['bounding', 'effective', 'permitted'])
      expect([...caps[set]!].sort(), set).toEqual([...DOCKER_DOC_DEFAULT_CAPS].sort());
    expect(caps.ambient ?? []).toEqual([]);
  });

  it('masked and read-only paths are the documented ones; privileged containers get none', async () => {
    const linux = service().linux;
    expect([...linux.maskedPaths].sort()).toEqual([...MASKED].sort());
    expect([...linux.readonlyPaths].sort()).toEqual([...READONLY].sort());
    const all = service({ capabilities: ['all'] }).linux;
    expect(all.maskedPaths ?? []).toEqual([]);
    expect(all.readonlyPaths ?? []).toEqual([]);
  });

  it('covers everything `runc spec` masks or makes read-only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-runc-spec-'));
    await execa('runc', ['spec', '-b', dir]);
    const spec = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Json;
    const linux = service().linux;
    for (const p of spec.linux.maskedPaths as string[]) expect(linux.maskedPaths, p).toContain(p);
    expect([...linux.readonlyPaths].sort()).toEqual([...(spec.linux.readonlyPaths as string[])].sort());
  });
});

/**
 * How our `seccomp: default` differs from Debian's golang-github-containers-common
 * /usr/share/containers/seccomp.json (podman's profile, derived from Docker's, 2022), per call,
 * for a container with Docker's default capabilities. Every entry is deliberate:
 */
const ENOSYS = 38;
const EPERM = 1;
/** Not x86 calls. Docker answers calls it does not list with EPERM; podman chose ENOSYS. */
const foreign = [
  'arm_fadvise64_64',
  'arm_sync_file_range',
  'breakpoint',
  'cacheflush',
  's390_pci_mmio_read',
  's390_pci_mmio_write',
  's390_runtime_instr',
  'set_tls',
  'sync_file_range2',
];
/** Calls newer than that profile (kernels 5.16-6.8), which Docker's current profile allows. */
const newer = [
  'cachestat',
  'fchmodat2',
  'futex_requeue',
  'futex_wait',
  'futex_waitv',
  'futex_wake',
  'io_pgetevents_time64',
  'map_shadow_stack',
];
/** podman blocks these two outright; Docker allows them (io_pgetevents is plain AIO, vmsplice a pipe call). */
const podmanBlocks = ['io_pgetevents', 'vmsplice'];
/**
 * podman leaves these to the capability checks in the kernel; Docker's profile (and ours) also
 * filters them unless the container holds the capability: CAP_SYS_ADMIN for mounts, namespaces and
 * syslog; CAP_SYS_PTRACE for ptrace and process_vm_*; CAP_SYS_BOOT for reboot; CAP_SYS_NICE for
 * the NUMA memory policy calls. clone3 is ENOSYS without CAP_SYS_ADMIN so libc falls back to clone,
 * whose namespace flags the profile can check.
 */
const capabilityGated = [
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'mount',
  'mount_setattr',
  'move_mount',
  'open_tree',
  'setns',
  'umount',
  'umount2',
  'unshare',
  'syslog',
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'pidfd_getfd',
  'reboot',
  'get_mempolicy',
  'mbind',
  'set_mempolicy',
];
/** Never allowed by Docker, whatever the capabilities: keyrings are not namespaced; pivot_root is the runtime's job. */
const dockerNever = ['keyctl', 'pivot_root'];
/** i386-only legacy calls and names no x86 kernel has; our profile does not list them. */
const unlisted = ['readdir', 'sigaction', 'signal', 'sigpending', 'sigsuspend', 'syscall', 'timerfd'];

function differences(theirs: Profile, caps: readonly string[], args: number[]): Record<string, string> {
  const ours = dockerDefaultSeccomp(caps) as Profile;
  const names = new Set([...theirs.syscalls.flatMap((r) => r.names), ...ours.syscalls.flatMap((r) => r.names)]);
  const out: Record<string, string> = {};
  for (const n of [...names].sort()) {
    const a = verdict(theirs, n, args, caps);
    const b = verdict(ours, n, args);
    if (a !== b) out[n] = `${a}->${b}`;
  }
  return out;
}

describe("seccomp: default against Debian's containers-common profile", () => {
  const SIGCHLD = 17;
  const load = async () => JSON.parse(await readFile('/usr/share/containers/seccomp.json', 'utf8')) as Profile;

  it('differs only where we follow Docker on purpose (Docker default capabilities)', async () => {
    const expected: Record<string, string> = {};
    for (const n of foreign) expected[n] = `${ENOSYS}->${EPERM}`;
    for (const n of newer) expected[n] = `${ENOSYS}->allow`;
    for (const n of podmanBlocks) expected[n] = `${EPERM}->allow`;
    for (const n of [...capabilityGated, ...dockerNever, ...unlisted]) expected[n] = `allow->${EPERM}`;
    expected.clone3 = `allow->${ENOSYS}`;
    expected.personality = `${ENOSYS}->${EPERM}`; // a persona neither allows (SIGCHLD's 17): the default errno again
    expect(differences(await load(), DOCKER_DOC_DEFAULT_CAPS, [SIGCHLD])).toEqual(expected);
  });

  it('with every capability only the policy differences remain', async () => {
    const expected: Record<string, string> = {};
    for (const n of foreign) expected[n] = `${ENOSYS}->${EPERM}`;
    // quotactl_fd (CAP_SYS_ADMIN) and set_mempolicy_home_node (CAP_SYS_NICE) are newer than that profile too.
    for (const n of [...newer, 'quotactl_fd', 'set_mempolicy_home_node']) expected[n] = `${ENOSYS}->allow`;
    for (const n of podmanBlocks) expected[n] = `${EPERM}->allow`;
    // query_module: gone from Linux since 2.6; podman still lists it under CAP_SYS_MODULE.
    for (const n of [...dockerNever, ...unlisted, 'query_module']) expected[n] = `allow->${EPERM}`;
    expected.personality = `${ENOSYS}->${EPERM}`;
    expect(differences(await load(), allCapabilities, [SIGCHLD])).toEqual(expected);
  });

  it('agrees on the calls both profiles list for ordinary programs', async () => {
    const theirs = await load();
    const ours = dockerDefaultSeccomp(DOCKER_DOC_DEFAULT_CAPS) as Profile;
    for (const n of ['read', 'write', 'openat', 'execve', 'clone', 'mmap', 'futex', 'wait4', 'socket', 'chroot', 'kill', 'setuid']) {
      expect(verdict(ours, n, [SIGCHLD]), n).toBe('allow');
      expect(verdict(theirs, n, [SIGCHLD], DOCKER_DOC_DEFAULT_CAPS), n).toBe('allow');
    }
    for (const persona of [0, 8, 0x20000, 0x20008, 0xffffffff]) {
      expect(verdict(ours, 'personality', [persona])).toBe(verdict(theirs, 'personality', [persona], DOCKER_DOC_DEFAULT_CAPS));
    }
  });
});
