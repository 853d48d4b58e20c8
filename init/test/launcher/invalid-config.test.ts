// Invalid values fail `create` with an error naming what and where, and
// nothing is left behind: no state directory, pid file, cgroup or process.
// create runs in a private mount namespace with cgroup2 at /sys/fs/cgroup
// (this host may have a v1 layout), as cgroup.test.ts does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, processesMentioning, scratch, type Config } from './harness.js';

const tmp = scratch('invalid');
const group = `lk-run-invalid-${process.pid}`;
let launcher = '';
let rootfs = '';
let stateRoot = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
});
afterAll(() => tmp.cleanup());

/** create with a cgroup; prints its exit status and whether our cgroup remains, then runs after. */
function createWithCgroup(id: string, config: Config, after = '') {
  config.linux.cgroupsPath = `/${group}/${id}`;
  const bundle = makeBundle(tmp.dir, rootfs, config);
  const pidFile = join(tmp.dir, `${id}.pid`);
  const script = `mount -t cgroup2 none /sys/fs/cgroup || exit 99
"$0" --root "$1" create --bundle "$2" --pid-file "$3" "$4"; echo "exit=$?"
ls /sys/fs/cgroup | grep -c "^${group}$"; ${after} true`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, launcher, stateRoot, bundle, pidFile, id], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { stderr: r.stderr, stdout: r.stdout, pidFile };
}

const cases: [string, (c: Config) => void, string][] = [
  [
    'an unknown capability',
    (c) => (c.process.capabilities = { bounding: ['CAP_CHOWN'], effective: ['CAP_FLY'] }),
    'config: process.capabilities.effective: unknown capability "CAP_FLY"',
  ],
  [
    'an unknown rlimit',
    (c) =>
      (c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
        { type: 'RLIMIT_WARP', soft: 1, hard: 1 },
      ]),
    'config: process.rlimits[1]: unknown rlimit "RLIMIT_WARP"',
  ],
  [
    'a namespace path that does not exist',
    (c) => (c.linux.namespaces[4] = { type: 'network', path: '/nonexistent/netns' }),
    'config: linux.namespaces[4].path: /nonexistent/netns: No such file or directory',
  ],
  [
    'a namespace path that is no namespace',
    (c) => (c.linux.namespaces[3] = { type: 'ipc', path: '/etc/hostname' }),
    'config: linux.namespaces[3].path: /etc/hostname is not a namespace',
  ],
  [
    'a namespace path of another type',
    (c) => (c.linux.namespaces[2] = { type: 'uts', path: '/proc/self/ns/net' }),
    'config: linux.namespaces[2].path: /proc/self/ns/net is a network namespace, not uts',
  ],
  [
    'an unknown rootfsPropagation',
    (c) => (c.linux.rootfsPropagation = 'rsideways'),
    'config: linux.rootfsPropagation: unknown value "rsideways"',
  ],
  [
    'timeOffsets without a new time namespace',
    (c) => (c.linux.timeOffsets = { boottime: { secs: 10 } }),
    'config: linux.timeOffsets: needs a new time namespace',
  ],
  [
    'a time offset for a clock no namespace has',
    (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { realtime: { secs: 10 } };
    },
    'config: linux.timeOffsets.realtime: unknown clock (monotonic or boottime)',
  ],
  [
    'an unknown personality domain',
    (c) => (c.linux.personality = { domain: 'LINUX64' }),
    'config: linux.personality.domain: unknown domain "LINUX64" (LINUX or LINUX32)',
  ],
  [
    'a personality flag (the spec defines none)',
    (c) => (c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }),
    'config: linux.personality.flags: no flag is supported',
  ],
  [
    'an AppArmor profile (no LSM to apply it)',
    (c) => (c.process.apparmorProfile = 'docker-default'),
    'config: process.apparmorProfile: not supported: lk-run applies no AppArmor or SELinux label (the node kernels have neither)',
  ],
  [
    'an SELinux mount label',
    (c) => (c.linux.mountLabel = 'system_u:object_r:container_file_t:s0'),
    'config: linux.mountLabel: not supported: lk-run applies no AppArmor or SELinux label (the node kernels have neither)',
  ],
  ['Intel RDT', (c) => (c.linux.intelRdt = { closID: 'x' }), 'config: linux.intelRdt: not supported: no Intel RDT (resctrl)'],
  [
    'a hook timeout of zero',
    (c) => (c.hooks = { createRuntime: [{ path: '/bin/true', timeout: 0 }] }),
    'config: hooks.createRuntime[0].timeout: 0 is out of range [1, 2147483647]',
  ],
  [
    'a failing createRuntime hook (after the cgroup was made)',
    (c) => (c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 9'] }] }),
    'hooks: createRuntime[0] /bin/sh: exited with status 9',
  ],
];

describe('invalid values fail create and leave nothing behind', () => {
  it.each(cases.map(([name, edit, message], i) => [name, edit, message, `bad${i}-${process.pid}`] as const))(
    '%s',
    (_, edit, message, id) => {
      const config = baseConfig(['sleep', '30']);
      edit(config);
      const r = createWithCgroup(id, config);
      expect(r.stderr).toBe(`lk-run: ${message}\n`);
      expect(r.stdout).toBe('exit=125\n0\n');
      expect(existsSync(join(stateRoot, id))).toBe(false);
      expect(existsSync(r.pidFile)).toBe(false);
      expect(processesMentioning(id)).toEqual([]);
    },
  );

  it('creates the same container once the value is fixed (the cgroup check can see one)', () => {
    const config = baseConfig(['sleep', '30']);
    const r = createWithCgroup('good', config, 'test -d "$1/$4" && echo state; "$0" --root "$1" delete --force "$4";');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('exit=0\n1\nstate\n');
  });
});
