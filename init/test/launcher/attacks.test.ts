// Issue 14: each attack a hostile container (or image, or config) made on
// lk-run, reproduced on this host as root. Every attack test here failed before
// its fix (LK_RUN_TEST_BINARY=<older lk-run> shows it); the two device-rule
// tests that are not attacks pin how linux.resources.devices is applied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, runBundle, runLauncher, scratch } from './harness.js';

const tmp = scratch('attacks');
let launcher = '';
let rootfs = '';
let rootfsCount = 0;

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = freshRootfs();
});
afterAll(() => tmp.cleanup());

/** A rootfs of its own, for tests that plant links in it; with the attack helper. */
function freshRootfs(): string {
  const dir = makeRootfs(join(tmp.dir, `rootfs-${++rootfsCount}`));
  execFileSync('musl-gcc', ['-static', '-O1', '-o', join(dir, 'bin/attack'), fileURLToPath(new URL('attack.c', import.meta.url))]);
  return dir;
}

function run(config: Record<string, any>, root = rootfs) {
  return runBundle(launcher, makeBundle(tmp.dir, root, config));
}

/** Runs in a private mount namespace with cgroup2 at /sys/fs/cgroup (this host may be hybrid). */
function runWithCgroup2(config: Record<string, any>) {
  const bundle = makeBundle(tmp.dir, rootfs, config);
  const r = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t cgroup2 none /sys/fs/cgroup || exit 99; "$0" run --bundle "$1" test',
      launcher,
      bundle,
    ],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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

describe('1. host block devices', () => {
  // /dev/loop0 is block 7:0 on this host; with CAP_MKNOD the container can make a node for it.
  const openLoop = ['/bin/sh', '-c', 'mknod /tmp/l b 7 0 && head -c 1 /tmp/l >/dev/null && echo opened; echo x >/dev/null && echo null-ok'];

  it('refuses to open a block node made with CAP_MKNOD (the default allow list)', () => {
    const config = baseConfig(openLoop);
    config.process.capabilities = { bounding: defaultCaps, effective: defaultCaps, permitted: defaultCaps };
    config.linux.cgroupsPath = `/lk-run-attacks-${process.pid}-a`;
    const r = runWithCgroup2(config);
    expect(r.stdout).toBe('null-ok\n');
    expect(r.stderr).toMatch(/\/tmp\/l: Operation not permitted/);
  });

  it('applies linux.resources.devices: a later allow rule opens that node', () => {
    const config = baseConfig(openLoop);
    config.linux.cgroupsPath = `/lk-run-attacks-${process.pid}-b`;
    config.linux.resources = {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'b', major: 7, minor: 0, access: 'r' },
      ],
    };
    const r = runWithCgroup2(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('opened\nnull-ok\n');
  });

  it('denies even the default devices when the rules end in a deny-all', () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo x >/dev/null && echo null-ok']);
    config.linux.cgroupsPath = `/lk-run-attacks-${process.pid}-c`;
    // The default list comes after the config's rules, so /dev/null stays usable.
    config.linux.resources = { devices: [{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] };
    expect(runWithCgroup2(config).stdout).toBe('null-ok\n');
  });
});

describe('2. path resolution inside the rootfs', () => {
  it('keeps readonlyPaths on /proc/sys when /proc is a link through a missing directory', () => {
    const root = freshRootfs();
    execFileSync('rm', ['-rf', join(root, 'proc')]);
    mkdirSync(join(root, 'realproc'));
    symlinkSync('/nonexistent/../p', join(root, 'proc'));
    symlinkSync('realproc', join(root, 'p'));
    const config = baseConfig(['/bin/sh', '-c', 'echo evil > /proc/sys/kernel/domainname && echo wrote']);
    config.linux.readonlyPaths = ['/proc/sys'];
    const r = run(config, root);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('creates nothing on the host through a link in a mount destination', () => {
    const root = freshRootfs();
    const host = join(tmp.dir, 'host-dir');
    mkdirSync(host);
    symlinkSync('/nonexistent/../esc', join(root, 'a'));
    symlinkSync(host, join(root, 'esc'));
    const config = baseConfig(['true']);
    config.mounts.push({ destination: '/a/b', type: 'tmpfs', source: 'tmpfs' });
    run(config, root);
    expect(readdirSync(host)).toEqual([]);
  });

  it('refuses a proc mount that does not end up as procfs', () => {
    const config = baseConfig(['true']);
    // The second mount hides the real /proc behind a tmpfs.
    config.mounts.push({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' });
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: mount: /proc: not a proc filesystem after mounting it\n');
  });

  it('fails on a maskedPath that exists but cannot be masked', () => {
    const root = freshRootfs();
    symlinkSync('/nowhere', join(root, 'etc/dangling'));
    const config = baseConfig(['true']);
    config.linux.maskedPaths = ['/etc/dangling'];
    const r = run(config, root);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^lk-run: maskedPaths: \/etc\/dangling: exists but cannot be masked/);
  });
});

describe('3. /dev through an image symlink', () => {
  it('makes the default devices and links inside the rootfs, not on the host', () => {
    const root = freshRootfs();
    const host = join(tmp.dir, 'host-dev');
    mkdirSync(host);
    execFileSync('rm', ['-rf', join(root, 'dev')]);
    symlinkSync(host, join(root, 'dev'));
    const config = baseConfig(['/bin/sh', '-c', 'echo x > /dev/null && echo ok']);
    config.mounts = config.mounts.filter((m: any) => !m.destination.startsWith('/dev'));
    const r = run(config, root);
    expect(readdirSync(host)).toEqual([]);
    expect(r.stdout).toBe('ok\n');
  });
});

describe('4. seccomp on 32-bit arguments', () => {
  it('denies AF_VSOCK passed with high bits set', () => {
    const config = baseConfig(['/bin/attack', 'socket', '0x100000028']);
    // AF_VSOCK (40) denied, everything else allowed.
    config.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] }],
    };
    expect(run(config).stdout).toBe('errno=1\n');
    // AF_UNIX (1) with the same high bits is still allowed: the kernel sees 1.
    config.process.args = ['/bin/attack', 'socket', '0x100000001'];
    expect(run(config).stdout).toBe('errno=0\n');
  });

  it('kills x32 syscalls, as the README says', () => {
    const config = baseConfig(['/bin/attack', 'x32']);
    config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] };
    const r = run(config);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(128 + 31);
  });
});

describe('5. the MS_MOVE + chroot fallback', () => {
  it('leaves a container that climbs out with chroot no host mount and nothing to write', () => {
    // Chrooted into a directory that is no mount point, pivot_root fails with EINVAL just as it
    // does on an initramfs root. The host mount is a tmpfs made for the test in the namespace.
    const world = join(tmp.dir, 'world');
    const hostMount = join(tmp.dir, 'host-mount');
    mkdirSync(join(world, 'bundle'), { recursive: true });
    mkdirSync(join(world, 'proc'));
    mkdirSync(hostMount);
    execFileSync('cp', [launcher, join(world, 'lk-run')]);
    const root = freshRootfs();
    execFileSync('cp', ['-a', `${root}/.`, join(world, 'bundle/rootfs')]);
    const config = baseConfig(['/bin/attack', 'escape', join(hostMount, 'marker'), tmp.dir]);
    config.process.capabilities = { bounding: defaultCaps, effective: defaultCaps, permitted: defaultCaps };
    writeFileSync(join(world, 'bundle/config.json'), JSON.stringify(config));
    const script =
      'mount -t tmpfs none "$1" && echo secret > "$1/marker" && mount -t proc proc "$2/proc" && chroot "$2" /lk-run run --bundle /bundle esc';
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', hostMount, world], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('no-host-mount\nwrite-refused\n');
    expect(readdirSync(tmp.dir)).not.toContain('pwned');
  });
});

describe('6. smaller ones', () => {
  it('refuses sysctl keys that are not namespaced', () => {
    const value = readFileSync('/proc/sys/vm/overcommit_ratio', 'utf8').trim();
    const config = baseConfig(['true']);
    config.linux.sysctl = { 'vm.overcommit_ratio': value };
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: linux.sysctl.vm.overcommit_ratio: not a namespaced sysctl; it would change the host\n');
  });

  it('refuses a namespaced sysctl without its namespace', () => {
    const config = baseConfig(['true']);
    config.linux.namespaces = config.linux.namespaces.filter((n: any) => n.type !== 'network');
    config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/linux\.sysctl\.net\.ipv4\.ip_forward: needs the container's own network namespace/);
  });

  it('writes the pid file without following a planted link', () => {
    const victim = join(tmp.dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const pidFile = join(tmp.dir, 'c.pid');
    symlinkSync(victim, `${pidFile}.tmp`);
    const r = runLauncher(launcher, ['run', '--pid-file', pidFile, '--bundle', makeBundle(tmp.dir, rootfs, baseConfig(['true'])), 'pidf']);
    expect(r.status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(pidFile, 'utf8')).toMatch(/^\d+$/);
  });

  it('parses a long run of huge exponents in linear time', () => {
    const config = baseConfig(['true']);
    const bundle = makeBundle(tmp.dir, rootfs, `${JSON.stringify(config).slice(0, -1)},"x":[${Array(100_000).fill('1e99999').join(',')}]}`);
    const r = spawnSync(launcher, ['check', '--bundle', bundle], { encoding: 'utf8', timeout: 5_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
  });

  it('reads a state.json larger than one read', () => {
    const stateRoot = join(tmp.dir, 'state');
    const config = baseConfig(['sleep', '10']);
    config.annotations = { big: 'x'.repeat(40_000) };
    const bundle = makeBundle(tmp.dir, rootfs, config);
    const created = spawnSync(launcher, ['--root', stateRoot, 'create', '--bundle', bundle, 'big'], { stdio: 'ignore' });
    expect(created.status).toBe(0);
    const r = runLauncher(launcher, ['--root', stateRoot, 'state', 'big']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).annotations.big).toHaveLength(40_000);
    expect(runLauncher(launcher, ['--root', stateRoot, 'delete', 'big']).status).toBe(0);
  });
});
