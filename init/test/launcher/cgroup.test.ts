// lk-run and cgroup v2. This host may run a v1/hybrid layout, so each run
// happens in a private mount namespace with cgroup2 mounted at
// /sys/fs/cgroup: the same unified hierarchy, seen where lk-run expects it.
// Controller limits are exercised in cgroup-verbs.test.ts (what this host's
// hierarchy offers) and the QEMU boot tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, scratch } from './harness.js';

const tmp = scratch('cgroup');
const group = `lk-run-test-${process.pid}`;
let launcher = '';
let rootfs = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
});
afterAll(() => tmp.cleanup());

/** Runs the bundle with cgroup2 at /sys/fs/cgroup, then lists what remains of our group. */
function runWithCgroup2(config: Record<string, any>) {
  const bundle = makeBundle(tmp.dir, rootfs, config);
  const script = `mount -t cgroup2 none /sys/fs/cgroup || exit 99
"$0" run --bundle "$1" test; echo "exit=$?"
ls /sys/fs/cgroup | grep -c "^${group}$"; true`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, launcher, bundle], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('cgroup v2', () => {
  it('puts the container in cgroupsPath and removes what it created', () => {
    const config = baseConfig(['/bin/sh', '-c', 'grep ^0:: /proc/self/cgroup']);
    config.linux.cgroupsPath = `/${group}/inner/c1`;
    const r = runWithCgroup2(config);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`0::/${group}/inner/c1\nexit=0\n0\n`);
  });

  it('hides the path in a new cgroup namespace', () => {
    const config = baseConfig(['/bin/sh', '-c', 'grep ^0:: /proc/self/cgroup']);
    config.linux.cgroupsPath = `${group}/c2`;
    config.linux.namespaces.push({ type: 'cgroup' });
    expect(runWithCgroup2(config).stdout).toBe('0::/\nexit=0\n0\n');
  });

  it('names a refused setting and leaves nothing behind', () => {
    const config = baseConfig(['true']);
    config.linux.cgroupsPath = `${group}/c3`;
    config.linux.resources = { unified: { 'cgroup.bogus': '1' } };
    const r = runWithCgroup2(config);
    expect(r.stderr).toBe(
      `lk-run: cgroup: linux.resources.unified.cgroup.bogus: /sys/fs/cgroup/${group}/c3/cgroup.bogus: No such file or directory\n`,
    );
    expect(r.stdout).toBe('exit=125\n0\n');
  });

  it('rejects invalid resources before creating anything', () => {
    const config = baseConfig(['true']);
    config.linux.resources = { memory: { limit: 'lots' } };
    const r = runWithCgroup2(config);
    expect(r.stderr).toBe('lk-run: config: linux.resources.memory.limit: expected number, got string\n');
    expect(r.stdout).toBe('exit=125\n0\n');
  });
});
