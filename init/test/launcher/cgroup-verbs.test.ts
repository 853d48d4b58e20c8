// lk-run's cgroup v2 resources on a real hierarchy, and the verbs that act on
// a created container's cgroup: update, pause/resume, ps. Driven through the
// CLI as containerd's runc shim drives it.
//
// This host may run a v1/hybrid layout: each lk-run call runs in a private
// mount namespace with cgroup2 mounted at /sys/fs/cgroup (the same unified
// hierarchy), while the test reads the files where the host has cgroup2
// mounted. Controllers the host keeps on v1 are not in the unified
// hierarchy: their tests check the clear error instead, and the value
// checks are skipped (the QEMU boot test covers memory, pids and cpu).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { baseConfig, buildLauncher, isRunning, makeBundle, makeRootfs, scratch } from './harness.js';

const tmp = scratch('cgroup-verbs');
const group = `lk-run-verbs-${process.pid}`;
let launcher = '';
let rootfs = '';
let stateRoot = '';

/** Where the host mounts the unified hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified). */
function cgroup2Mount(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left.split(' ')[4];
  }
  throw new Error('no cgroup2 mount on this host');
}
const hostCgroup = cgroup2Mount();
const controllers = readFileSync(join(hostCgroup, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
const has = (c: string) => controllers.includes(c);
type Controller = 'memory' | 'pids' | 'cpu' | 'io';
const missing = (['memory', 'pids', 'cpu', 'io'] as const).find((c) => !has(c));

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
});
afterAll(() => {
  // A failed ps test may leave its child cgroup: empty it first, so delete can remove the rest.
  const sub = join(hostCgroup, group, 'ps', 'sub');
  if (existsSync(sub)) {
    for (const pid of readFileSync(join(sub, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      writeFileSync(join(hostCgroup, group, 'ps', 'cgroup.procs'), pid);
    rmdirSync(sub);
  }
  for (const id of existsSync(stateRoot) ? readdirSync(stateRoot) : []) lk(['delete', '--force', id]);
  spawnSync('rmdir', [join(hostCgroup, group)]);
  tmp.cleanup();
});

/** One lk-run call with cgroup2 at /sys/fs/cgroup; stdout and stderr go to files (a created container keeps them open). */
function lk(args: string[], input?: string) {
  const log = join(tmp.dir, 'lk-run.log');
  const out = join(tmp.dir, 'lk-run.out');
  const fd = openSync(log, 'w');
  const outFd = openSync(out, 'w');
  const script = 'mount -t cgroup2 none /sys/fs/cgroup || exit 99; exec "$0" "$@"';
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, launcher, '--root', stateRoot, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', outFd, fd],
    timeout: 30_000,
  });
  closeSync(fd);
  closeSync(outFd);
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(log, 'utf8') };
}

function create(id: string, resources: Record<string, any> | undefined, args = ['/bin/sh', '-c', 'sleep 1000']) {
  const config = baseConfig(args);
  config.linux.cgroupsPath = `/${group}/${id}`;
  if (resources) config.linux.resources = resources;
  return lk(['create', '--bundle', makeBundle(tmp.dir, rootfs, config), id]);
}

const cg = (id: string, file: string) => readFileSync(join(hostCgroup, group, id, file), 'utf8').trim();
const leftBehind = (id: string) => existsSync(join(hostCgroup, group, id)) || existsSync(join(stateRoot, id));
const state = (id: string) => JSON.parse(lk(['state', id]).stdout);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resources on the host', () => {
  it.skipIf(!has('hugetlb'))('hugepageLimits land in hugetlb.<size>.max and its reservation limit', () => {
    const r = create('huge', { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(cg('huge', 'hugetlb.2MB.max')).toBe('4194304');
    expect(cg('huge', 'hugetlb.2MB.rsvd.max')).toBe('4194304');
    expect(lk(['delete', '--force', 'huge']).status).toBe(0);
    expect(leftBehind('huge')).toBe(false);
  });

  it('writes unified keys as given', () => {
    const unified: Record<string, string> = { 'cgroup.max.descendants': '7', 'cgroup.max.depth': '2' };
    if (has('hugetlb')) unified['hugetlb.2MB.max'] = '2097152';
    expect(create('unified', { unified }).status).toBe(0);
    expect(cg('unified', 'cgroup.max.descendants')).toBe('7');
    expect(cg('unified', 'cgroup.max.depth')).toBe('2');
    if (has('hugetlb')) expect(cg('unified', 'hugetlb.2MB.max')).toBe('2097152');
    lk(['delete', '--force', 'unified']);
  });

  it.each([
    [
      'a path',
      'cgroup.procs/../x',
      'lk-run: config: linux.resources.unified.cgroup.procs/../x: not a cgroup file name (controller.file)\n',
    ],
    ['..', 'hugetlb..max', 'lk-run: config: linux.resources.unified.hugetlb..max: not a cgroup file name (controller.file)\n'],
    ['no controller', 'weight', 'lk-run: config: linux.resources.unified.weight: not a cgroup file name (controller.file)\n'],
  ])('refuses a unified key with %s, leaving nothing behind', (_what, key, message) => {
    const r = create('badkey', { unified: { [key]: '1' } });
    expect(r.stderr).toBe(message);
    expect(r.status).toBe(125);
    expect(leftBehind('badkey')).toBe(false);
  });

  it('names a unified file the kernel does not have, leaving nothing behind', () => {
    const r = create('nofile', { unified: { 'cgroup.bogus': '1' } });
    expect(r.stderr).toBe(
      `lk-run: cgroup: linux.resources.unified.cgroup.bogus: /sys/fs/cgroup/${group}/nofile/cgroup.bogus: No such file or directory\n`,
    );
    expect(r.status).toBe(125);
    expect(leftBehind('nofile')).toBe(false);
  });

  it.skipIf(!missing)(`names the key when its controller is not in the hierarchy (${missing} here)`, () => {
    const byController: Record<Controller, Record<string, any>> = {
      memory: { memory: { limit: 33554432 } },
      pids: { pids: { limit: 10 } },
      cpu: { cpu: { quota: 50000, period: 100000 } },
      io: { blockIO: { throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1000 }] } },
    };
    const resources = byController[missing!];
    const fields: Record<Controller, string> = {
      memory: 'memory.limit',
      pids: 'pids.limit',
      cpu: 'cpu.quota',
      io: 'blockIO.throttleReadBpsDevice[0]',
    };
    const field = fields[missing!];
    const r = create('nocontroller', resources);
    expect(r.stderr).toMatch(
      new RegExp(
        `^lk-run: cgroup: linux\\.resources\\.${field.replace(/[.[\]]/g, '\\$&')}: the ${missing} controller is not available \\(/sys/fs/cgroup offers: [^)]*\\)\n$`,
      ),
    );
    expect(r.status).toBe(125);
    expect(leftBehind('nocontroller')).toBe(false);
    // A unified key of that controller is refused the same way.
    const u = create('nocontroller', { unified: { [`${missing}.max`]: '1' } });
    expect(u.stderr).toContain(`lk-run: cgroup: linux.resources.unified.${missing}.max: the ${missing} controller is not available`);
    expect(leftBehind('nocontroller')).toBe(false);
  });

  it.skipIf(has('memory') || has('pids'))('accepts default values of a missing controller: they change nothing', () => {
    expect(create('defaults', { memory: { limit: -1 }, pids: { limit: -1 } }).status).toBe(0);
    expect(existsSync(join(hostCgroup, group, 'defaults', 'memory.max'))).toBe(false);
    lk(['delete', '--force', 'defaults']);
  });
});

describe('update', () => {
  it('changes the limits of a running container from resources on stdin', () => {
    const initial: Record<string, any> = { unified: { 'cgroup.max.descendants': '5' } };
    if (has('memory')) initial.memory = { limit: 33554432 };
    if (has('pids')) initial.pids = { limit: 20 };
    if (has('hugetlb')) initial.hugepageLimits = [{ pageSize: '2MB', limit: 2097152 }];
    expect(create('upd', initial).status).toBe(0);
    expect(lk(['start', 'upd']).status).toBe(0);
    const update: Record<string, any> = { unified: { 'cgroup.max.descendants': '9' } };
    if (has('memory')) update.memory = { limit: 67108864 };
    if (has('pids')) update.pids = { limit: 40 };
    if (has('hugetlb')) update.hugepageLimits = [{ pageSize: '2MB', limit: 6291456 }];
    const r = lk(['update', '--resources', '-', 'upd'], JSON.stringify(update));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(cg('upd', 'cgroup.max.descendants')).toBe('9');
    if (has('memory')) expect(cg('upd', 'memory.max')).toBe('67108864');
    if (has('pids')) expect(cg('upd', 'pids.max')).toBe('40');
    if (has('hugetlb')) expect(cg('upd', 'hugetlb.2MB.max')).toBe('6291456');
    expect(state('upd').status).toBe('running');
  });

  it.skipIf(!has('memory') || !has('pids'))('takes runc-style flags', () => {
    expect(lk(['update', '--memory', '50331648', '--pids-limit=30', 'upd']).status).toBe(0);
    expect(cg('upd', 'memory.max')).toBe('50331648');
    expect(cg('upd', 'pids.max')).toBe('30');
  });

  it.skipIf(!missing)('refuses a controller the hierarchy lacks and writes nothing', () => {
    const flags: Record<Controller, string> = { memory: '--memory', pids: '--pids-limit', cpu: '--cpu-quota', io: '--blkio-weight' };
    const field = flags[missing!];
    const r = lk(['update', field, missing === 'io' ? '500' : '1000000', 'upd']);
    expect(r.stderr).toContain(`the ${missing} controller is not available`);
    expect(r.status).toBe(1);
    // Checked before writing: the unified value set above is untouched.
    const u = lk(
      ['update', '--resources', '-', 'upd'],
      JSON.stringify({ unified: { 'cgroup.max.descendants': '3', [`${missing}.max`]: '1' } }),
    );
    expect(u.status).toBe(1);
    expect(cg('upd', 'cgroup.max.descendants')).toBe('9');
  });

  it('refuses bad input with a clear error', () => {
    expect(lk(['update', '--resources', '-', 'upd'], '{"pids": {"limit": "x"}}').stderr).toBe(
      'lk-run: config: resources.pids.limit: expected number, got string\n',
    );
    expect(lk(['update', '--resources', '-', 'upd'], '{"pids": ').stderr).toMatch(/^lk-run: update: stdin: line 1 column \d+: /);
    const usage = lk(['update', '--memory', 'lots', 'upd']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe('lk-run: usage: --memory needs an integer, not "lots"\n');
    expect(lk(['update', '--resources', '-', 'nosuch'], '{}').stderr).toBe('lk-run: state: container "nosuch" does not exist\n');
  });
});

describe('pause and resume', () => {
  /** The counter the container writes, read through its root. */
  const counter = (pid: number) => Number(readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8') || '0');

  it('stops every process of the container, and resume restarts them', async () => {
    const loop = 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done';
    expect(create('frz', undefined, ['/bin/sh', '-c', loop]).status).toBe(0);
    expect(lk(['start', 'frz']).status).toBe(0);
    const pid = state('frz').pid;
    const deadline = Date.now() + 10_000;
    while (!existsSync(`/proc/${pid}/root/tmp/count`) || counter(pid) < 3) {
      if (Date.now() > deadline) throw new Error('the counter never moved');
      await sleep(20);
    }

    const p = lk(['pause', 'frz']);
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    expect(cg('frz', 'cgroup.events')).toContain('frozen 1');
    expect(state('frz').status).toBe('paused');
    const frozenAt = counter(pid);
    await sleep(500);
    expect(counter(pid)).toBe(frozenAt);
    expect(lk(['pause', 'frz']).stderr).toBe('lk-run: pause: container "frz" is paused, not running\n');

    const r = lk(['resume', 'frz']);
    expect(r.status).toBe(0);
    expect(cg('frz', 'cgroup.events')).toContain('frozen 0');
    expect(state('frz').status).toBe('running');
    await sleep(500);
    expect(counter(pid)).toBeGreaterThan(frozenAt);
    expect(lk(['resume', 'frz']).stderr).toBe('lk-run: resume: container "frz" is running, not paused\n');

    // A paused container is deleted only with --force, and then SIGKILL reaches its frozen tasks.
    expect(lk(['pause', 'frz']).status).toBe(0);
    expect(lk(['delete', 'frz']).stderr).toBe('lk-run: delete: cannot delete container frz that is not stopped: paused\n');
    expect(lk(['delete', '--force', 'frz']).status).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expect(leftBehind('frz')).toBe(false);
  });
});

describe('ps', () => {
  it("lists the pids of the container's cgroup, as json and as a table", async () => {
    expect(create('ps', undefined, ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait']).status).toBe(0);
    expect(lk(['start', 'ps']).status).toBe(0);
    const deadline = Date.now() + 10_000;
    while (cg('ps', 'cgroup.procs').split('\n').length < 3 && Date.now() < deadline) await sleep(20);
    const procs = cg('ps', 'cgroup.procs')
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b);
    expect(procs).toHaveLength(3);
    expect(procs).toContain(state('ps').pid);

    const json = lk(['ps', '--format', 'json', 'ps']);
    expect(json.status).toBe(0);
    expect(json.stdout).toMatch(/^\[\d+(,\d+)*\]\n$/);
    expect((JSON.parse(json.stdout) as number[]).sort((a, b) => a - b)).toEqual(procs);

    const table = lk(['ps', 'ps']).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^PID\s+PPID\s+STAT\s+CMD$/);
    expect(
      table
        .slice(1)
        .map((l) => Number(l.split(/\s+/)[0]))
        .sort((a, b) => a - b),
    ).toEqual(procs);
    expect(table.filter((l) => / sleep 1000$/.test(l))).toHaveLength(2);
    expect(lk(['ps', '--format', 'yaml', 'ps']).stderr).toBe('lk-run: usage: ps: --format is table or json, not "yaml"\n');

    // A process the container moved into a cgroup of its own is still the container's.
    const sub = join(hostCgroup, group, 'ps', 'sub');
    mkdirSync(sub);
    const moved = procs.find((p) => p !== state('ps').pid)!;
    writeFileSync(join(sub, 'cgroup.procs'), String(moved));
    expect(cg('ps', 'cgroup.procs').split('\n').map(Number)).not.toContain(moved);
    expect((JSON.parse(lk(['ps', '--format', 'json', 'ps']).stdout) as number[]).sort((a, b) => a - b)).toEqual(procs);
    writeFileSync(join(hostCgroup, group, 'ps', 'cgroup.procs'), String(moved));
    rmdirSync(sub);
    lk(['delete', '--force', 'ps']);
    expect(leftBehind('ps')).toBe(false);
  });
});
