// lk-run's namespaces as the runtime spec has them: joined by path (made by
// util-linux's unshare on the host), user namespaces new or joined, a config
// without a mount namespace, and rootfsPropagation as /proc/self/mountinfo
// shows it. Expected values come from the kernel's view of the other process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import {
  baseConfig,
  buildLauncher,
  childrenOf,
  createContainer,
  makeBundle,
  makeRootfs,
  runLauncher,
  scratch,
  until,
  type Config,
} from './harness.js';

const tmp = scratch('namespaces');
let launcher = '';
let rootfs = '';
let stateRoot = '';
const sleepers: ReturnType<typeof spawn>[] = [];

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
});
afterAll(() => {
  for (const s of sleepers) s.kill('SIGKILL');
  // A failed test may leave a container behind: its process would outlive the run.
  for (const id of existsSync(stateRoot) ? readdirSync(stateRoot) : [])
    runLauncher(launcher, ['--root', stateRoot, 'delete', '--force', id]);
  tmp.cleanup();
});

function run(config: Config | string) {
  return runLauncher(launcher, ['run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'ns']);
}

/** A sleeping process in namespaces made by `unshare flags...`; its pid (the one inside them). */
async function holder(...flags: string[]): Promise<number> {
  const forks = flags.includes('--fork');
  const child = spawn('unshare', [...flags, 'sleep', '120'], { stdio: 'ignore' });
  sleepers.push(child);
  let pid = 0;
  await until(() => {
    const candidate = forks ? childrenOf(child.pid!)[0] : child.pid!;
    // Until unshare has exec'd sleep, its namespaces may not be made yet.
    try {
      if (candidate && readFileSync(`/proc/${candidate}/cmdline`, 'utf8').startsWith('sleep')) pid = candidate;
    } catch {
      // not there yet
    }
    return pid > 0;
  });
  return pid;
}

const ns = (pid: number | string, type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);

describe('joining namespaces by path', () => {
  it.each([
    ['uts', '--uts'],
    ['network', '--net'],
    ['ipc', '--ipc'],
    ['cgroup', '--cgroup'],
  ])('joins a %s namespace', async (type, flag) => {
    const pid = await holder(flag);
    const file = type === 'network' ? 'net' : type;
    const config = baseConfig(['readlink', `/proc/self/ns/${file}`]);
    delete config.hostname;
    config.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type, path: `/proc/${pid}/ns/${file}` }];
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${ns(pid, file)}\n`);
    expect(ns(pid, file)).not.toBe(ns('self', file));
  });

  it('joins a pid namespace, and its processes are the container’s', async () => {
    const pid = await holder('--pid', '--fork');
    const config = baseConfig(['/bin/sh', '-c', 'readlink /proc/self/ns/pid; cat /proc/1/cmdline; echo']);
    config.linux.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'pid', path: `/proc/${pid}/ns/pid` }];
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${ns(pid, 'pid')}\nsleep\u0000120\u0000\n`);
  });

  it('sets the hostname in a joined uts namespace', async () => {
    const pid = await holder('--uts');
    const config = baseConfig(['hostname']);
    config.hostname = 'joined-by-path';
    config.linux.namespaces = [{ type: 'mount' }, { type: 'uts', path: `/proc/${pid}/ns/uts` }];
    // In a uts namespace of its own, so that a broken join cannot rename this host.
    const r = spawnSync('unshare', ['--uts', launcher, 'run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'ns'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('joined-by-path\n');
    // The namespace's other member sees it (the kernel's word, via nsenter).
    const seen = spawnSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' });
    expect(seen.stdout).toBe('joined-by-path\n');
  });
});

describe('time namespaces', () => {
  /** Seconds of uptime (the boottime clock) as the container sees it, and its time namespace. */
  function uptimeAndNs(config: Config) {
    const r = run(config);
    expect(r.stderr).toBe('');
    const [uptime, ns] = r.stdout.split('\n');
    return { uptime: Number(uptime.split(' ')[0]), ns };
  }
  const hostUptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

  it('makes a new one with timeOffsets', () => {
    const config = baseConfig(['/bin/sh', '-c', 'cat /proc/uptime; readlink /proc/self/ns/time']);
    config.linux.namespaces.push({ type: 'time' });
    config.linux.timeOffsets = { boottime: { secs: 3_000_000, nanosecs: 5 }, monotonic: { secs: -1 } };
    const seen = uptimeAndNs(config);
    expect(seen.ns).not.toBe(ns('self', 'time'));
    expect(seen.uptime - hostUptime()).toBeGreaterThan(3_000_000 - 60);
    expect(seen.uptime - hostUptime()).toBeLessThan(3_000_000 + 60);
  });

  it('joins one by path', async () => {
    const pid = await holder('--time', '--boottime', '7000000');
    const config = baseConfig(['/bin/sh', '-c', 'cat /proc/uptime; readlink /proc/self/ns/time']);
    config.linux.namespaces.push({ type: 'time', path: `/proc/${pid}/ns/time` });
    const seen = uptimeAndNs(config);
    expect(seen.ns).toBe(ns(pid, 'time'));
    expect(seen.uptime - hostUptime()).toBeGreaterThan(7_000_000 - 60);
  });
});

describe('user namespaces', () => {
  /** A config for a user namespace: /proc bound from the runtime (a new proc would need its pid namespace). */
  function userConfig(args: string[]): Config {
    const config = baseConfig(args);
    config.mounts[0] = { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] };
    config.linux.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'ipc' }];
    return config;
  }

  it('makes a new one with the uid and gid mappings', () => {
    const config = userConfig(['/bin/sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u']);
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 1000 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 2000 }];
    const r = run(config);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual(['0 200000 1000', '0 300000 2000', '0', '']);
  });

  it('joins one by path, with the mappings it has', async () => {
    const pid = await holder('--user');
    // What unshare --map-users does through newuidmap; root may write the maps itself.
    writeFileSync(`/proc/${pid}/uid_map`, '0 400000 65536\n');
    writeFileSync(`/proc/${pid}/gid_map`, '0 400000 65536\n');
    const config = userConfig(['/bin/sh', '-c', 'readlink /proc/self/ns/user; cat /proc/self/uid_map']);
    config.linux.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
    const r = run(config);
    expect(r.stderr).toBe('');
    const [user, map] = r.stdout.split('\n');
    expect(user).toBe(ns(pid, 'user'));
    expect(map.trim().split(/\s+/)).toEqual(['0', '400000', '65536']);
  });
});

describe('without a mount namespace', () => {
  it('runs in the caller’s mount namespace with the rootfs as its root', async () => {
    const config = baseConfig(['/bin/sh', '-c', 'cat /etc/marker; exec sleep 30']);
    config.mounts = [];
    config.linux.namespaces = [{ type: 'pid' }, { type: 'uts' }];
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const c = createContainer(launcher, stateRoot, makeBundle(tmp.dir, rootfs, config), 'nomnt');
    expect(c.output()).toBe('');
    expect(c.status).toBe(0);
    const pid = Number(readFileSync(c.pidFile, 'utf8'));
    expect(ns(pid, 'mnt')).toBe(ns('self', 'mnt'));
    expect(readlinkSync(`/proc/${pid}/root`)).toBe(realpathSync(rootfs));
    expect(runLauncher(launcher, ['--root', stateRoot, 'start', 'nomnt']).status).toBe(0);
    await until(() => c.output() === 'from the image\n');
    expect(runLauncher(launcher, ['--root', stateRoot, 'delete', '--force', 'nomnt']).status).toBe(0);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(before);
  });

  it('refuses what would mount in the caller’s namespace', () => {
    const config = baseConfig(['true']);
    config.linux.namespaces = [{ type: 'pid' }, { type: 'uts' }];
    const r = run(config);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe("lk-run: config: mounts: needs a mount namespace (it would change the caller's)\n");
  });
});

describe('rootfsPropagation', () => {
  /**
   * The optional fields of the container's / and /tmp in its mountinfo. lk-run runs in a
   * mount namespace of its own whose mounts are all shared, so a slave root has a master.
   */
  function propagation(value: string) {
    const config = baseConfig(['cat', '/proc/self/mountinfo']);
    config.linux.rootfsPropagation = value;
    const bundle = makeBundle(tmp.dir, rootfs, config);
    const r = spawnSync('unshare', ['-m', '--propagation', 'shared', launcher, 'run', '--bundle', bundle, 'prop'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    const fields = (mountPoint: string) => {
      const line = r.stdout.split('\n').find((l) => l.split(' ')[4] === mountPoint)!;
      const rest = line.split(' ').slice(6);
      return rest
        .slice(0, rest.indexOf('-'))
        .map((f) => f.replace(/:\d+$/, ''))
        .join(' ');
    };
    return { root: fields('/'), tmp: fields('/tmp') };
  }

  it.each([
    ['shared', 'shared', ''],
    ['rshared', 'shared', 'shared'],
    ['slave', 'master', ''],
    ['rslave', 'master', ''],
    ['private', '', ''],
    ['rprivate', '', ''],
    ['unbindable', 'unbindable', ''],
    ['runbindable', 'unbindable', 'unbindable'],
  ])('%s', (value, root, below) => {
    expect(propagation(value)).toEqual({ root, tmp: below });
  });
});
