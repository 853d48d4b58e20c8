// lk-run check: config.json validation and what lk-run derives from it
// (cgroup v2 files, the seccomp program), without running a container.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, runLauncher, scratch } from './harness.js';

const tmp = scratch('check');
let launcher = '';
let rootfs = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
});
afterAll(() => tmp.cleanup());

function check(config: Record<string, any>) {
  return runLauncher(launcher, ['check', '--bundle', makeBundle(tmp.dir, rootfs, config), 'c1']);
}

function withLinux(linux: Record<string, any>) {
  const config = baseConfig(['true']);
  Object.assign(config.linux, linux);
  return config;
}

describe('cgroup v2 mapping', () => {
  it('maps resources onto cgroup v2 files', () => {
    const r = check(
      withLinux({
        cgroupsPath: '/podruntime/web',
        resources: {
          devices: [{ allow: false, access: 'rwm' }],
          memory: { limit: 268435456, reservation: 134217728, swap: 536870912 },
          cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
          pids: { limit: 100 },
          unified: { 'io.weight': '50' },
        },
      }),
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.cgroup).toBe('podruntime/web');
    expect(out.cgroupFiles).toEqual({
      'cpuset.cpus': '0-1',
      'cpuset.mems': '0',
      // shares 1024 (v1's default) -> 100 (v2's default): runc's quadratic map.
      'cpu.weight': '100',
      'cpu.max': '50000 100000',
      'memory.max': '268435456',
      'memory.low': '134217728',
      'memory.swap.max': '268435456',
      'pids.max': '100',
      'io.weight': '50',
    });
  });

  it('writes max for unlimited values and skips unset ones', () => {
    const out = JSON.parse(
      check(
        withLinux({
          resources: { memory: { limit: -1, swap: -1, reservation: 0 }, cpu: { quota: -1 }, pids: { limit: -1 } },
        }),
      ).stdout,
    );
    // No cgroupsPath: limits still need a cgroup of their own.
    expect(out.cgroup).toBe('lk-run/c1');
    expect(out.cgroupFiles).toEqual({ 'cpu.max': 'max 100000', 'memory.max': 'max', 'memory.swap.max': 'max', 'pids.max': 'max' });
  });

  it('needs no cgroup without a path or limits', () => {
    expect(JSON.parse(check(withLinux({ resources: {} })).stdout).cgroup).toBeNull();
  });

  it('makes a cgroup for device rules alone: the filter needs one', () => {
    const out = JSON.parse(check(withLinux({ resources: { devices: [{ allow: false, access: 'rwm' }] } })).stdout);
    expect(out.cgroup).toBe('lk-run/c1');
  });

  it.each([
    [{ cgroupsPath: '/a/../../etc' }, 'lk-run: config: linux.cgroupsPath: "a/../../etc" leaves the cgroup tree\n'],
    [{ cgroupsPath: 'system.slice:lk:web' }, 'lk-run: config: linux.cgroupsPath: "system.slice:lk:web" is a systemd path\n'],
    [
      { resources: { memory: { limit: 100, swap: 50 } } },
      'lk-run: config: linux.resources.memory.swap: must be at least the memory limit\n',
    ],
    [{ resources: { cpu: { shares: -1 } } }, 'lk-run: config: linux.resources.cpu.shares: expected a non-negative integer\n'],
    [
      { resources: { unified: { '../escape': '1' } } },
      'lk-run: config: linux.resources.unified.../escape: not a cgroup file name (controller.file)\n',
    ],
    [{ resources: { devices: [{ allow: true, type: 'x' }] } }, 'lk-run: config: linux.resources.devices[0]: type "x": only a, b or c\n'],
    [
      { resources: { devices: [{ allow: true, access: 'rwx' }] } },
      'lk-run: config: linux.resources.devices[0]: access "rwx": only r, w and m\n',
    ],
    [{ resources: { devices: [{ type: 'c' }] } }, 'lk-run: config: linux.resources.devices[0]: allow is required\n'],
    [
      { resources: { devices: [{ allow: true, major: 'one' }] } },
      'lk-run: config: linux.resources.devices[0].major: expected number, got string\n',
    ],
  ])('rejects %j', (linux, message) => {
    const r = check(withLinux(linux));
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(message);
  });
});

describe('validation', () => {
  const cases: Array<[string, (c: Record<string, any>) => void, string]> = [
    [
      'args of the wrong type',
      (c) => {
        c.process.args = 'true';
      },
      'process.args: expected array, got string',
    ],
    [
      'empty args',
      (c) => {
        c.process.args = [];
      },
      'process.args: must name a program',
    ],
    [
      'env without =',
      (c) => {
        c.process.env = ['PATH'];
      },
      'process.env: "PATH" is not NAME=VALUE',
    ],
    [
      'a relative cwd',
      (c) => {
        c.process.cwd = 'tmp';
      },
      'process.cwd: "tmp" is not an absolute path',
    ],
    [
      'a negative uid',
      (c) => {
        c.process.user.uid = -1;
      },
      'process.user.uid: expected a non-negative integer',
    ],
    [
      'a fractional gid',
      (c) => {
        c.process.user.gid = 1.5;
      },
      'process.user.gid: expected a non-negative integer',
    ],
    [
      'an unknown rlimit',
      (c) => {
        c.process.rlimits = [{ type: 'RLIMIT_SPEED', soft: 1, hard: 1 }];
      },
      'process.rlimits[0]: unknown rlimit "RLIMIT_SPEED"',
    ],
    [
      'oomScoreAdj out of range',
      (c) => {
        c.process.oomScoreAdj = 2000;
      },
      'process.oomScoreAdj: 2000 is out of range [-1000, 1000]',
    ],
    [
      'an unknown namespace',
      (c) => {
        c.linux.namespaces.push({ type: 'everything' });
      },
      'linux.namespaces[5]: unknown namespace type "everything"',
    ],
    [
      'a namespace listed twice',
      (c) => {
        c.linux.namespaces.push({ type: 'pid' });
      },
      'linux.namespaces[5]: namespace "pid" listed twice',
    ],
    [
      'a user namespace without mappings',
      (c) => {
        c.linux.namespaces.push({ type: 'user' });
      },
      'linux.uidMappings: a new user namespace needs uidMappings and gidMappings',
    ],
    [
      'a mount without destination',
      (c) => {
        c.mounts.push({ type: 'tmpfs', source: 'tmpfs' });
      },
      'mounts[4]: missing destination',
    ],
    [
      'an unknown propagation',
      (c) => {
        c.linux.rootfsPropagation = 'sideways';
      },
      'linux.rootfsPropagation: unknown value "sideways"',
    ],
    [
      'an unknown device type',
      (c) => {
        c.linux.devices = [{ path: '/dev/x', type: 'q' }];
      },
      'linux.devices[0]: unknown device type "q"',
    ],
    [
      'a sysctl that is not a string',
      (c) => {
        c.linux.sysctl = { 'net.ipv4.ip_forward': 1 };
      },
      'linux.sysctl.net.ipv4.ip_forward: expected string, got number',
    ],
    [
      'a relative masked path',
      (c) => {
        c.linux.maskedPaths = ['proc/kcore'];
      },
      'linux.maskedPaths: "proc/kcore" is not an absolute path',
    ],
    [
      'an unknown seccomp op',
      (c) => {
        c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }],
        };
      },
      'linux.seccomp.syscalls[0]: unknown op "SCMP_CMP_ABOUT"',
    ],
    [
      'a seccomp argument index past 5',
      (c) => {
        c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }],
        };
      },
      'linux.seccomp.syscalls[0]: argument index 6 is out of range',
    ],
    [
      'SCMP_ACT_NOTIFY',
      (c) => {
        c.linux.seccomp = { defaultAction: 'SCMP_ACT_NOTIFY' };
      },
      'linux.seccomp: SCMP_ACT_NOTIFY is not supported',
    ],
  ];

  it.each(cases)('rejects %s', (_name, edit, message) => {
    const config = baseConfig(['true']);
    edit(config);
    const r = check(config);
    expect(r.stderr).toBe(`lk-run: config: ${message}\n`);
    expect(r.status).toBe(125);
  });

  it('accepts a full LinuxKit-style config', () => {
    const config = baseConfig(['/bin/sh']);
    config.process.capabilities = {
      bounding: ['CAP_NET_ADMIN'],
      effective: ['CAP_NET_ADMIN'],
      permitted: ['CAP_NET_ADMIN'],
      inheritable: [],
      ambient: [],
    };
    config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }];
    config.process.noNewPrivileges = true;
    config.process.terminal = false;
    config.annotations = { 'org.mobyproject.config': '{}' };
    config.linux.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }];
    delete config.hostname;
    config.linux.maskedPaths = ['/proc/kcore'];
    config.linux.readonlyPaths = ['/proc/sys'];
    config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    const r = check(config);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('compiles a long seccomp allow list within the kernel limit', () => {
    const names = Array.from({ length: 300 }, (_, i) => ['read', 'write', 'open', 'close', 'stat'][i % 5] + (i < 5 ? '' : `_${i}`));
    const config = baseConfig(['true']);
    config.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] };
    const out = JSON.parse(check(config).stdout);
    // Five real syscalls (the rest are unknown names, skipped): header + 5 groups + default.
    expect(out.seccompInstructions).toBeGreaterThan(10);
    expect(out.seccompInstructions).toBeLessThan(40);
  });
});
