// lk-run privileges and confinement: capabilities, seccomp, masked and
// read-only paths, sysctl, devices and user namespaces on real containers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { baseConfig, buildLauncher, launcherSource, makeBundle, makeRootfs, runBundle, scratch } from './harness.js';

const tmp = scratch('security');
let launcher = '';
let rootfs = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
});
afterAll(() => tmp.cleanup());

function run(config: Record<string, any>) {
  return runBundle(launcher, makeBundle(tmp.dir, rootfs, config));
}

const defaultCaps = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

function withCaps(config: Record<string, any>, caps: string[], ambient: string[] = []) {
  config.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient };
  return config;
}

/** The capability bits a line of /proc/self/status shows. */
function capMask(status: string, field: string): bigint {
  const m = status.match(new RegExp(`^${field}:\\s+([0-9a-f]+)$`, 'm'));
  if (!m) throw new Error(`no ${field} in ${status}`);
  return BigInt(`0x${m[1]}`);
}

describe('capabilities', () => {
  it('sets all five sets exactly', () => {
    const config = withCaps(baseConfig(['cat', '/proc/self/status']), ['CAP_CHOWN', 'CAP_KILL'], ['CAP_KILL']);
    const r = run(config);
    expect(r.stderr).toBe('');
    const chownKill = (1n << 0n) | (1n << 5n);
    expect(capMask(r.stdout, 'CapEff')).toBe(chownKill);
    expect(capMask(r.stdout, 'CapPrm')).toBe(chownKill);
    expect(capMask(r.stdout, 'CapInh')).toBe(chownKill);
    expect(capMask(r.stdout, 'CapBnd')).toBe(chownKill);
    expect(capMask(r.stdout, 'CapAmb')).toBe(1n << 5n);
  });

  it('reads capability names in any case, as runc does', () => {
    const r = run(withCaps(baseConfig(['cat', '/proc/self/status']), ['cap_chown', 'Cap_Kill', 'CAP_SYS_CHROOT']));
    expect(r.stderr).toBe('');
    expect(capMask(r.stdout, 'CapEff')).toBe((1n << 0n) | (1n << 5n) | (1n << 18n));
  });

  it('makes mount fail without CAP_SYS_ADMIN and work with it', () => {
    const cmd = ['/bin/sh', '-c', 'mount -t tmpfs none /mnt && echo mounted'];
    const without = run(withCaps(baseConfig(cmd), defaultCaps));
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/permission denied/i);
    const withAdmin = run(withCaps(baseConfig(cmd), [...defaultCaps, 'CAP_SYS_ADMIN']));
    expect(withAdmin.stdout).toBe('mounted\n');
  });

  it('makes chown fail without CAP_CHOWN', () => {
    const cmd = ['/bin/sh', '-c', 'touch /tmp/f && chown 1000 /tmp/f && echo chowned'];
    const without = run(
      withCaps(
        baseConfig(cmd),
        defaultCaps.filter((c) => c !== 'CAP_CHOWN'),
      ),
    );
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/Operation not permitted/);
    expect(run(withCaps(baseConfig(cmd), defaultCaps)).stdout).toBe('chowned\n');
  });

  it('gives a non-root user ambient capabilities', () => {
    const config = withCaps(baseConfig(['cat', '/proc/self/status']), ['CAP_NET_BIND_SERVICE'], ['CAP_NET_BIND_SERVICE']);
    config.process.user = { uid: 1000, gid: 1000 };
    const r = run(config);
    expect(capMask(r.stdout, 'CapEff')).toBe(1n << 10n);
    expect(r.stdout).toMatch(/^Uid:\s+1000\s/m);
  });

  it('skips ambient capabilities that are not inheritable, as runc and crun do', () => {
    const config = baseConfig(['cat', '/proc/self/status']);
    const caps = ['CAP_CHOWN', 'CAP_KILL'];
    // The shape `runc spec` writes: ambient listed, inheritable empty.
    config.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: ['CAP_CHOWN'], ambient: caps };
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(capMask(r.stdout, 'CapAmb')).toBe(1n << 0n);
    expect(capMask(r.stdout, 'CapEff')).toBe((1n << 0n) | (1n << 5n));
  });
});

describe('seccomp', () => {
  const kill = (args: object[] = []) => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args },
      { names: ['not_a_syscall_here', 'arm_fadvise64_64'], action: 'SCMP_ACT_ERRNO' },
    ],
  });

  it('denies listed syscalls with EPERM while others work', () => {
    const config = baseConfig(['/bin/sh', '-c', 'mkdir /tmp/d; echo mkdir=$?; touch /tmp/f && echo touch-ok']);
    config.linux.seccomp = kill();
    const r = run(config);
    expect(r.stdout).toBe('mkdir=1\ntouch-ok\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  it('compares 32-bit arguments on their low half, as the kernel reads them', () => {
    // kill(pid, SIGUSR2) is refused with EACCES; other signals pass. The signal
    // is an int: a rule value with high bits set still means 12 to the kernel.
    const config = baseConfig(['/bin/sh', '-c', 'kill -USR2 $$; echo usr2=$?; kill -0 $$; echo zero=$?; kill -USR1 $$; echo usr1=$?']);
    config.linux.seccomp = kill([{ index: 1, value: 12, op: 'SCMP_CMP_EQ' }]);
    const r = run(config);
    expect(r.stdout).toBe('usr2=1\nzero=0\nusr1=0\n');
    expect(r.stderr).toMatch(/Permission denied/);
    config.linux.seccomp = kill([{ index: 1, value: 0x1_0000_000c, op: 'SCMP_CMP_EQ' }]);
    expect(run(config).stdout).toBe('usr2=1\nzero=0\nusr1=0\n');
    config.linux.seccomp = kill([{ index: 1, value: 10, op: 'SCMP_CMP_GT' }]);
    expect(run(config).stdout).toBe('usr2=1\nzero=0\nusr1=0\n');
    config.linux.seccomp = kill([{ index: 1, value: 10, op: 'SCMP_CMP_LE' }]);
    expect(run(config).stdout).toBe('usr2=0\nzero=1\nusr1=1\n');
    config.linux.seccomp = kill([{ index: 1, value: 0xff, valueTwo: 12, op: 'SCMP_CMP_MASKED_EQ' }]);
    expect(run(config).stdout).toBe('usr2=1\nzero=0\nusr1=0\n');
  });

  it('handles a long allow list with an errno default', () => {
    const table = readFileSync(join(launcherSource, 'syscalls_x86_64.h'), 'utf8');
    const denied = ['mkdir', 'mkdirat', 'chown', 'lchown', 'fchown', 'fchownat', 'symlink', 'symlinkat'];
    const names = [...table.matchAll(/\{ "([a-z0-9_]+)", \d+, 0x[0-9a-f]+ \}/g)].map((m) => m[1]).filter((n) => !denied.includes(n));
    expect(names.length).toBeGreaterThan(300);
    const config = baseConfig([
      '/bin/sh',
      '-c',
      'mkdir /tmp/d; echo mkdir=$?; touch /tmp/f; chown 1 /tmp/f; echo chown=$?; ln -s f /tmp/l; echo ln=$?; echo rest-ok',
    ]);
    config.process.noNewPrivileges = true;
    config.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        // Conditional rules inside a long list: each group must still be reachable.
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
        { names, action: 'SCMP_ACT_ALLOW' },
      ],
    };
    const r = run(config);
    expect(r.stdout).toBe('mkdir=1\nchown=1\nln=1\nrest-ok\n');
    expect(r.stderr.match(/Function not implemented/g)?.length).toBe(3);
  });

  it('reaches the last rule of a group longer than a short jump', () => {
    // 60 conditional rules on kill (about 800 instructions), the decisive one last.
    const filler = Array.from({ length: 60 }, (_, i) => ({
      names: ['kill'],
      action: 'SCMP_ACT_LOG',
      args: [
        { index: 0, value: 0, op: 'SCMP_CMP_GE' },
        { index: 1, value: 100 + i, op: 'SCMP_CMP_EQ' },
      ],
    }));
    const config = baseConfig(['/bin/sh', '-c', 'kill -USR2 $$; echo usr2=$?; kill -USR1 $$; echo usr1=$?']);
    config.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        ...filler,
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 12, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const r = run(config);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.stdout).toBe('usr2=1\nusr1=0\n');
  });

  it('kills or traps with the matching actions', () => {
    for (const action of ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP']) {
      const config = baseConfig(['/bin/sh', '-c', 'mkdir /tmp/d; echo status=$?']);
      config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action }] };
      expect(run(config).stdout).toBe(`status=${128 + 31}\n`);
    }
  });

  it('logs without refusing', () => {
    const config = baseConfig(['/bin/sh', '-c', 'mkdir /tmp/d && echo made']);
    config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_LOG' }] };
    expect(run(config).stdout).toBe('made\n');
  });

  it('rejects an unknown action', () => {
    const config = baseConfig(['true']);
    config.linux.seccomp = { defaultAction: 'SCMP_ACT_MAYBE' };
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: linux.seccomp: unknown action "SCMP_ACT_MAYBE"\n');
  });
});

describe('paths and kernel settings', () => {
  it('masks files and directories', () => {
    const config = baseConfig([
      '/bin/sh',
      '-c',
      'cat /etc/marker | wc -c; ls -A /proc/acpi | wc -l; touch /proc/acpi/x || echo refused; echo done',
    ]);
    config.linux.maskedPaths = ['/etc/marker', '/proc/kcore', '/proc/acpi', '/proc/does-not-exist'];
    const r = run(config);
    expect(r.stdout).toBe('0\n0\nrefused\ndone\n');
    // Unmasked, the same file has content.
    delete config.linux.maskedPaths;
    expect(run(config).stdout.split('\n')[0]).toBe('15');
  });

  it('makes readonlyPaths read-only', () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo 1 > /proc/sys/kernel/domainname && echo wrote; touch /tmp/ok && echo tmp-ok']);
    config.linux.readonlyPaths = ['/proc/sys', '/nonexistent'];
    const r = run(config);
    expect(r.stdout).toBe('tmp-ok\n');
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('writes sysctl inside the new namespaces', () => {
    const config = baseConfig(['cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/kernel/domainname']);
    config.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.domainname': 'lk.example' };
    const r = run(config);
    expect(r.stdout).toBe('1\nlk.example\n');
    // The host's values are untouched.
    expect(readFileSync('/proc/sys/kernel/domainname', 'utf8')).not.toBe('lk.example\n');
  });

  it('creates configured devices', () => {
    const config = baseConfig(['stat', '-c', '%F %t:%T %a %u:%g', '/dev/mynull', '/dev/fifo']);
    config.linux.devices = [
      { path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o620, uid: 7, gid: 8 },
      { path: '/dev/fifo', type: 'p' },
    ];
    const r = run(config);
    expect(r.stdout).toBe('character special file 1:3 620 7:8\nfifo 0:0 666 0:0\n');
  });

  it('maps ids in a new user namespace', () => {
    const config = baseConfig(['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map']);
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('0');
    expect(r.stdout).toMatch(/^\s+0\s+100000\s+65536$/m);
  });

  it('mounts devpts without gid= when that group is not mapped', () => {
    const config = baseConfig(['ls', '/dev/pts']);
    config.mounts[2].options.push('gid=5', 'mode=0620');
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ptmx\n');
  });
});
