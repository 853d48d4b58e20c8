import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseBuildText, type ImageSpec } from '../../src/config/index.js';
import { allCapabilities, dockerDefaultCapabilities } from '../../src/config/capabilities.js';
import { bundleConfig } from '../../src/config/runtime-config.js';
import type { ImageConfig } from '../../src/oci/media-types.js';
import { dockerDefaultSeccomp } from '../../src/config/seccomp-default.js';
import { verdict } from './seccomp-verdict.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_THREAD_FLAGS = 0x003d0f00; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
const SIGCHLD = 17;

const defaults = dockerDefaultSeccomp(dockerDefaultCapabilities);
const sysAdmin = dockerDefaultSeccomp([...dockerDefaultCapabilities, 'CAP_SYS_ADMIN']);

describe("Docker's default seccomp profile", () => {
  it('refuses every unlisted syscall with EPERM and targets x86', () => {
    expect(defaults.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(defaults.defaultErrnoRet).toBe(EPERM);
    expect(defaults.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    for (const name of [
      'keyctl',
      'add_key',
      'request_key',
      'kexec_load',
      'pivot_root',
      'swapon',
      'userfaultfd',
      'nfsservctl',
      'create_module',
      'uselib',
    ]) {
      expect(verdict(defaults, name), name).toBe(EPERM);
      expect(verdict(dockerDefaultSeccomp(allCapabilities), name), name).toBe(EPERM);
    }
  });

  it('allows the ordinary syscalls, about 350 names, none twice', () => {
    const allowed = defaults.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names);
    expect(allowed.length).toBeGreaterThan(330);
    expect(new Set(allowed).size).toBe(allowed.length);
    for (const name of [
      'read',
      'write',
      'openat',
      'execve',
      'mmap',
      'futex',
      'rt_sigaction',
      'wait4',
      'exit_group',
      'fork',
      'vfork',
      'statx',
      'getrandom',
      'arch_prctl',
      'chroot',
    ]) {
      expect(verdict(defaults, name), name).toBe('allow');
    }
  });

  it('allows personality only for the personas Docker lists', () => {
    for (const persona of [0, 0x8, 0x20000, 0x20008, 0xffffffff]) expect(verdict(defaults, 'personality', [persona])).toBe('allow');
    // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_BSD
    for (const persona of [0x0040000, 0x0400000, 0x6]) expect(verdict(defaults, 'personality', [persona])).toBe(EPERM);
  });

  it('allows socket for every address family but AF_ALG and AF_VSOCK', () => {
    for (const family of [1, 2, 10, 16, 17, 37, 39, 41, 44])
      expect(verdict(defaults, 'socket', [family]), `family ${family}`).toBe('allow');
    expect(verdict(defaults, 'socket', [38])).toBe(EPERM);
    expect(verdict(defaults, 'socket', [40])).toBe(EPERM);
  });

  it('without CAP_SYS_ADMIN: clone without namespace flags only, clone3 ENOSYS, no mount, unshare or setns', () => {
    expect(verdict(defaults, 'clone', [SIGCHLD])).toBe('allow');
    expect(verdict(defaults, 'clone', [CLONE_THREAD_FLAGS])).toBe('allow');
    for (const flag of [CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, 0x02000000, 0x04000000, 0x08000000, 0x20000000]) {
      expect(verdict(defaults, 'clone', [SIGCHLD | flag]), `flag ${flag.toString(16)}`).toBe(EPERM);
    }
    expect(verdict(defaults, 'clone3')).toBe(ENOSYS);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'fsopen', 'open_tree'])
      expect(verdict(defaults, name), name).toBe(EPERM);
  });

  it('with CAP_SYS_ADMIN: clone with any flags, clone3, mount, unshare and setns', () => {
    expect(verdict(sysAdmin, 'clone', [SIGCHLD | CLONE_NEWUSER | CLONE_NEWNS])).toBe('allow');
    for (const name of ['clone3', 'mount', 'umount2', 'unshare', 'setns', 'sethostname', 'syslog', 'bpf', 'perf_event_open']) {
      expect(verdict(sysAdmin, name), name).toBe('allow');
    }
    expect(sysAdmin.syscalls.some((r) => r.names.includes('clone3') && r.action !== 'SCMP_ACT_ALLOW')).toBe(false);
  });

  it('allows the syscalls of each capability the container holds, and only those', () => {
    const pairs: [string, string[]][] = [
      ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
      ['CAP_SYS_BOOT', ['reboot']],
      ['CAP_SYS_CHROOT', ['chroot']],
      ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
      ['CAP_SYS_PACCT', ['acct']],
      ['CAP_SYS_PTRACE', ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd']],
      ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
      ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
      ['CAP_SYS_TTY_CONFIG', ['vhangup']],
      ['CAP_SYS_NICE', ['mbind', 'set_mempolicy', 'get_mempolicy']],
      ['CAP_SYSLOG', ['syslog']],
      ['CAP_BPF', ['bpf']],
      ['CAP_PERFMON', ['perf_event_open']],
    ];
    const none = dockerDefaultSeccomp([]);
    for (const [cap, names] of pairs) {
      const p = dockerDefaultSeccomp([cap]);
      for (const name of names) {
        expect(verdict(p, name), `${cap} ${name}`).toBe('allow');
        expect(verdict(none, name), `no ${cap}: ${name}`).toBe(EPERM);
      }
    }
    // A syscall that two held capabilities grant is listed once.
    const both = dockerDefaultSeccomp(['CAP_SYS_ADMIN', 'CAP_SYSLOG', 'CAP_BPF']);
    expect(both.syscalls.flatMap((r) => r.names).filter((n) => n === 'syslog' || n === 'bpf')).toEqual(['bpf', 'syslog']);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(dockerDefaultSeccomp(dockerDefaultCapabilities))).toBe(JSON.stringify(defaults));
  });
});

describe('seccomp: default in the build file', () => {
  const image = (extra: Partial<ImageSpec> = {}): ImageSpec => ({ name: 'web', image: 'nginx:1.25', ...extra });
  const config = (spec: ImageSpec, ic: ImageConfig = {}) => bundleConfig(spec, ic, 'service').config as Json;

  it('becomes the profile for the container’s effective capabilities', () => {
    expect(config(image({ seccomp: 'default' })).linux.seccomp).toEqual(defaults);
    const c = config(image({ seccomp: 'default', 'capabilities.add': ['CAP_SYS_ADMIN'] }));
    expect(c.linux.seccomp).toEqual(sysAdmin);
    expect(config(image({ seccomp: 'default', capabilities: ['CAP_SYS_PTRACE'] })).linux.seccomp).toEqual(
      dockerDefaultSeccomp(['CAP_SYS_PTRACE']),
    );
  });

  it('works from the image label, and a YAML object replaces it', () => {
    const ic = { Labels: { 'org.mobyproject.config': JSON.stringify({ seccomp: 'default' }) } };
    expect(config(image(), ic).linux.seccomp).toEqual(defaults);
    const own = { defaultAction: 'SCMP_ACT_ALLOW' };
    expect(config(image({ seccomp: own }), ic).linux.seccomp).toEqual(own);
  });

  it('leaves containers without the key unfiltered', () => {
    expect(config(image()).linux.seccomp).toBeUndefined();
  });

  const problems = (value: string) =>
    parseBuildText('node.yml', `services:\n  - name: web\n    image: nginx:1.25\n    seccomp: ${value}\n`).diagnostics.map(
      formatDiagnostic,
    );

  it('is accepted by the schema next to an OCI object, with one clear error otherwise', () => {
    expect(problems('default')).toEqual([]);
    expect(problems('{defaultAction: SCMP_ACT_ERRNO, syscalls: [{names: [read], action: SCMP_ACT_ALLOW}]}')).toEqual([]);
    expect(problems('dfault')).toEqual([
      'node.yml:4:14: services[0].seccomp: expected one of default, got "dfault" (did you mean "default"?)',
    ]);
    expect(problems('{defaultAction: SCMP_ACT_ALLOW, bogus: 1}')).toEqual([
      'node.yml:4:46: unknown key "bogus" in services[0].seccomp (expected one of: defaultAction, defaultErrnoRet, architectures, flags, syscalls)',
    ]);
    expect(problems('42')).toEqual(['node.yml:4:14: services[0].seccomp: expected a string or a mapping, got the number 42']);
  });
});
