// lk-run run: the foreground lifecycle, process settings, namespaces, root
// filesystem and error reporting, against real containers on this host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import {
  baseConfig,
  buildLauncher,
  childrenOf,
  isRunning,
  makeBundle,
  makeRootfs,
  runBundle,
  scratch,
  startBundle,
  waitForOutput,
} from './harness.js';

const tmp = scratch('run');
let launcher = '';
let rootfs = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
});
afterAll(() => tmp.cleanup());

function run(config: Record<string, any> | string) {
  return runBundle(launcher, makeBundle(tmp.dir, rootfs, config));
}

describe('exit status', () => {
  it('propagates the exit code', () => {
    const r = run(baseConfig(['/bin/sh', '-c', 'exit 3']));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
  });

  it('returns 0 for true', () => {
    expect(run(baseConfig(['true'])).status).toBe(0);
  });

  it('reports death by signal as 128+n', () => {
    // Without a pid namespace the shell is not an init, so it can signal itself.
    const config = baseConfig(['/bin/sh', '-c', 'kill -USR1 $$']);
    config.linux.namespaces = [{ type: 'mount' }];
    delete config.hostname;
    expect(run(config).status).toBe(128 + 10);
  });

  it('forwards SIGTERM to the container', async () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo up; exec sleep 30']);
    config.linux.namespaces = [{ type: 'mount' }];
    delete config.hostname;
    const started = startBundle(launcher, makeBundle(tmp.dir, rootfs, config));
    await waitForOutput(started.output, 'up');
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(128 + 15);
  });

  it('takes the container down when the launcher is killed', async () => {
    const bundle = makeBundle(tmp.dir, rootfs, baseConfig(['/bin/sh', '-c', 'echo up; exec sleep 30']));
    const started = startBundle(launcher, bundle);
    await waitForOutput(started.output, 'up');
    const [init] = childrenOf(started.child.pid!);
    expect(isRunning(init)).toBe(true);
    started.child.kill('SIGKILL');
    await started.exited;
    const deadline = Date.now() + 5_000;
    while (isRunning(init) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(isRunning(init)).toBe(false);
  });
});

describe('process', () => {
  it('passes args, env and cwd', () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo "$1|$FOO|$(pwd)"', 'sh', 'an arg']);
    config.process.env.push('FOO=bar baz');
    config.process.cwd = '/etc';
    const r = run(config);
    expect(r.stdout).toBe('an arg|bar baz|/etc\n');
    expect(r.status).toBe(0);
  });

  it('looks the program up in the container PATH', () => {
    const r = run(baseConfig(['echo', 'found']));
    expect(r.stdout).toBe('found\n');
  });

  it('switches to the configured user and groups', () => {
    const config = baseConfig(['id']);
    config.process.user = { uid: 1234, gid: 2345, additionalGids: [3456, 4567] };
    const r = run(config);
    expect(r.stdout.trim()).toBe('uid=1234 gid=2345 groups=3456,4567');
  });

  it('applies rlimits', () => {
    const config = baseConfig(['/bin/sh', '-c', 'ulimit -n; ulimit -H -n']);
    config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 123, hard: 456 }];
    expect(run(config).stdout).toBe('123\n456\n');
  });

  it('sets oomScoreAdj and noNewPrivileges', () => {
    const config = baseConfig(['/bin/sh', '-c', 'cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status']);
    config.process.oomScoreAdj = 500;
    config.process.noNewPrivileges = true;
    expect(run(config).stdout).toMatch(/^500\nNoNewPrivs:\s+1\n$/);
  });

  it('passes only stdio, plus the fds --preserve-fds names', () => {
    const bundle = makeBundle(tmp.dir, rootfs, baseConfig(['ls', '/proc/self/fd']));
    const withExtraFds = (extra: string[]) =>
      spawnSync(launcher, [...extra, 'run', '--bundle', bundle, 'fds'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      }).stdout;
    // ls itself holds one more descriptor for the directory it reads.
    expect(withExtraFds([])).toBe('0\n1\n2\n3\n');
    expect(withExtraFds(['--preserve-fds', '2'])).toBe('0\n1\n2\n3\n4\n5\n');
  });

  it('starts the container with default signal dispositions', () => {
    // A caller that ignores signals (SIGCHLD, SIGPIPE) must not pass that on.
    const bundle = makeBundle(tmp.dir, rootfs, baseConfig(['grep', 'SigIgn', '/proc/self/status']));
    const r = spawnSync('sh', ['-c', 'trap "" PIPE CHLD HUP; exec "$0" run --bundle "$1" sigs; ', launcher, bundle], { encoding: 'utf8' });
    expect(r.stdout).toBe('SigIgn:\t0000000000000000\n');
    expect(r.status).toBe(0);
  });

  it('exits 127 with a clear error when the program does not exist', () => {
    const r = run(baseConfig(['/bin/nonexistent']));
    expect(r.status).toBe(127);
    expect(r.stderr).toBe('lk-run: exec: /bin/nonexistent: No such file or directory\n');
  });

  it('runs with linux.personality (LINUX32: uname shows a 32-bit CPU, as the spec says)', () => {
    const machine = (personality?: Record<string, any>) => {
      const config = baseConfig(['/bin/sh', '-c', 'cat /proc/self/personality; busybox uname -m']);
      if (personality) config.linux.personality = personality;
      const r = run(config);
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    const host = spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout;
    expect(host).toBe('x86_64\n');
    expect(machine({ domain: 'LINUX32', flags: [] })).toBe('00000008\ni686\n');
    expect(machine({ domain: 'LINUX' })).toBe(`00000000\n${host}`);
    expect(machine()).toBe(`00000000\n${host}`);
  });
});

describe('namespaces', () => {
  it('sets the hostname in a new uts namespace', () => {
    const r = run(baseConfig(['hostname']));
    expect(r.stdout).toBe('lk-test\n');
  });

  it('sets the domainname too', () => {
    const config = baseConfig(['cat', '/proc/sys/kernel/domainname']);
    config.domainname = 'example.org';
    expect(run(config).stdout).toBe('example.org\n');
  });

  it('refuses a hostname without a uts namespace', () => {
    const config = baseConfig(['true']);
    config.linux.namespaces = [{ type: 'mount' }];
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: hostname: needs a uts namespace\n');
  });

  it('runs the process as pid 1 of a new pid namespace', () => {
    const r = run(baseConfig(['/bin/sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"']));
    // Only the shell and ls (grep is the pipe's other side) are visible.
    const [pid, count] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(Number(count)).toBeLessThanOrEqual(3);
  });

  it('has only loopback in a new network namespace', () => {
    const config = baseConfig(['ls', '/sys/class/net']);
    config.mounts.push({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', 'nosuid'] });
    expect(run(config).stdout).toBe('lo\n');
  });

  it("joins another container's namespace by path", async () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo up; exec sleep 30']);
    config.hostname = 'first';
    const first = startBundle(launcher, makeBundle(tmp.dir, rootfs, config), 'first');
    await waitForOutput(first.output, 'up');
    // The container's init is lk-run's only child; the host sees its real pid.
    const children = childrenOf(first.child.pid!);
    expect(children.length).toBe(1);
    const joined = baseConfig(['hostname']);
    delete joined.hostname;
    joined.linux.namespaces = [{ type: 'mount' }, { type: 'uts', path: `/proc/${children[0]}/ns/uts` }];
    const r = run(joined);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('first\n');
  });
});

describe('root filesystem', () => {
  it('refuses writes to a read-only root', () => {
    const config = baseConfig(['/bin/sh', '-c', 'touch /etc/new; echo $?; touch /tmp/new && echo tmp-ok']);
    config.root.readonly = true;
    const r = run(config);
    expect(r.stdout).toMatch(/^1\ntmp-ok\n$/);
  });

  it('fills a read-only /dev tmpfs with the default devices before making it read-only', () => {
    const config = baseConfig(['/bin/sh', '-c', 'touch /dev/new; echo $?; echo x > /dev/null && echo null-ok; ls /dev/pts/ptmx']);
    config.mounts[config.mounts.findIndex((m: { destination: string }) => m.destination === '/dev')].options.push('ro');
    const r = run(config);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.stdout).toBe('1\nnull-ok\n/dev/pts/ptmx\n');
  });

  it('creates the default devices and /dev links', () => {
    const r = run(baseConfig(['/bin/sh', '-c', 'ls /dev; echo x > /dev/null && echo null-ok; readlink /dev/fd; readlink /dev/ptmx']));
    for (const name of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fd', 'stdin', 'stdout', 'stderr', 'ptmx', 'pts'])
      expect(r.stdout.split('\n')).toContain(name);
    expect(r.stdout).toContain('null-ok\n/proc/self/fd\npts/ptmx\n');
  });

  it('bind mounts host paths, read-only on request', () => {
    const shared = join(tmp.dir, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'hello'), 'from the host\n');
    const config = baseConfig(['/bin/sh', '-c', 'cat /mnt/hello; touch /mnt/x 2>/dev/null || echo refused']);
    config.mounts.push({ destination: '/mnt', type: 'bind', source: shared, options: ['rbind', 'ro'] });
    const r = run(config);
    expect(r.stdout).toBe('from the host\nrefused\n');
    expect(existsSync(join(shared, 'x'))).toBe(false);
  });

  it('applies recursive options to a whole bind tree', () => {
    // The host's /dev/shm is a submount of /dev: plain ro leaves it writable, rro does not.
    const name = `lk-run-rro-${process.pid}`;
    const probe = `/dev/shm/${name}`;
    const config = (option: string) => {
      const c = baseConfig([
        '/bin/sh',
        '-c',
        `touch /mnt/shm/${name} 2>/dev/null && echo sub-written; touch /mnt/x 2>/dev/null || echo top-refused`,
      ]);
      c.mounts.push({ destination: '/mnt', type: 'bind', source: '/dev', options: ['rbind', option] });
      return c;
    };
    try {
      expect(run(config('ro')).stdout).toBe('sub-written\ntop-refused\n');
      rmSync(probe, { force: true });
      expect(run(config('rro')).stdout).toBe('top-refused\n');
      expect(existsSync(probe)).toBe(false);
    } finally {
      rmSync(probe, { force: true });
    }
  });

  it('bind mounts a single file', () => {
    const file = join(tmp.dir, 'single-file');
    writeFileSync(file, 'just this\n');
    const config = baseConfig(['cat', '/etc/app/settings']);
    config.mounts.push({ destination: '/etc/app/settings', source: file, options: ['bind', 'ro'] });
    expect(run(config).stdout).toBe('just this\n');
  });

  it('follows symlinks in a destination without leaving the rootfs', () => {
    // On the host, rootfs/escape/inside would be /inside.
    symlinkSync('../../..', join(rootfs, 'escape'));
    const config = baseConfig(['/bin/sh', '-c', 'grep -c " /inside " /proc/self/mountinfo']);
    config.mounts.push({ destination: '/escape/inside', type: 'tmpfs', source: 'tmpfs' });
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
    expect(existsSync('/inside')).toBe(false);
  });

  it('keeps mounts private with rootfsPropagation rshared as well', () => {
    const config = baseConfig(['true']);
    config.linux.rootfsPropagation = 'rshared';
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(run(config).status).toBe(0);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(before);
  });

  it('leaves its own chroot to pivot_root where the chroot makes it impossible', () => {
    // Chrooted into a directory that is no mount point, pivot_root fails with
    // EINVAL (as on an initramfs root); from the namespace's root it works.
    const world = join(tmp.dir, 'world');
    mkdirSync(join(world, 'bundle'), { recursive: true });
    copyFileSync(launcher, join(world, 'lk-run'));
    chmodSync(join(world, 'lk-run'), 0o755);
    makeRootfs(join(world, 'bundle/rootfs'));
    const config = baseConfig(['/bin/sh', '-c', 'echo pid=$$; cat /etc/marker; touch /etc/x || echo refused; exit 5']);
    config.root.readonly = true;
    writeFileSync(join(world, 'bundle/config.json'), JSON.stringify(config));
    const r = spawnSync('unshare', ['-m', 'chroot', world, '/lk-run', 'run', '--bundle', '/bundle', 'moved'], { encoding: 'utf8' });
    expect(r.stdout).toBe('pid=1\nfrom the image\nrefused\n');
    expect(r.status).toBe(5);
  });

  it('does not change the host mount table', () => {
    const before = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
    run(baseConfig(['true']));
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length).toBe(before);
  });
});

describe('errors', () => {
  it('reports invalid JSON with its position', () => {
    const r = run('{"process": {"args": ["true"]},\n  "root": }');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^lk-run: config: .*config\.json: line 2 column 11: unexpected character\n$/);
  });

  it('reports a value of the wrong type by its field', () => {
    const config = baseConfig(['true']);
    config.process.user.uid = 'root';
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: process.user.uid: expected number, got string\n');
  });

  it('rejects an unknown capability name', () => {
    const config = baseConfig(['true']);
    config.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_FLY'] };
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: process.capabilities.bounding: unknown capability "CAP_FLY"\n');
  });

  it('rejects mount options it cannot honour', () => {
    const config = baseConfig(['true']);
    config.mounts.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] });
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: config: mounts[4]: mount option "idmap" is not supported\n');
  });

  it('ignores unknown fields', () => {
    const config = baseConfig(['true']);
    config.somethingNew = { nested: [1, 2, 3] };
    config.process.alsoNew = true;
    expect(run(config).status).toBe(0);
  });

  it('names a missing rootfs', () => {
    const config = baseConfig(['true']);
    config.root.path = '/nonexistent/rootfs';
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: rootfs: /nonexistent/rootfs: No such file or directory\n');
  });

  it('names a missing config.json', () => {
    const dir = join(tmp.dir, 'empty-bundle');
    mkdirSync(dir);
    const r = runBundle(launcher, dir);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`lk-run: config: ${dir}/config.json: No such file or directory\n`);
  });

  it('names the failing mount and leaves no mounts behind', () => {
    const config = baseConfig(['true']);
    config.mounts.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-source' });
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('lk-run: mount: /nonexistent-source: No such file or directory\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(before);
  });
});
