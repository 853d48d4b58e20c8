// lk-run's OCI lifecycle verbs: create, start, state, kill, delete, with a
// private state root per test file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, runLauncher, scratch } from './harness.js';

const tmp = scratch('lifecycle');
let launcher = '';
let rootfs = '';
let stateRoot = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
});
afterAll(() => tmp.cleanup());

function lk(...args: string[]) {
  return runLauncher(launcher, ['--root', stateRoot, ...args]);
}

/** create, with the container's stdio in a file: it outlives the create call. */
function create(id: string, config: Record<string, any>) {
  const bundle = makeBundle(tmp.dir, rootfs, config);
  const log = join(tmp.dir, `${id}.log`);
  const fd = openSync(log, 'w');
  const r = spawnSync(launcher, ['--root', stateRoot, 'create', '--bundle', bundle, '--pid-file', join(tmp.dir, `${id}.pid`), id], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  return { status: r.status, bundle, log: () => readFileSync(log, 'utf8') };
}

function state(id: string) {
  const r = lk('state', id);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

async function until(check: () => boolean) {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('lifecycle', () => {
  it('creates, starts, signals and deletes a container', async () => {
    const config = baseConfig(['/bin/sh', '-c', 'trap "echo got-term; exit 7" TERM; echo started; while true; do sleep 0.05; done']);
    config.annotations = { 'org.example/note': 'a "quoted" value', empty: '' };
    const c = create('one', config);
    expect(c.status).toBe(0);
    const created = state('one');
    expect(created).toMatchObject({ ociVersion: '1.0.2', id: 'one', status: 'created', bundle: c.bundle });
    expect(created.annotations).toEqual(config.annotations);
    expect(created.pid).toBe(Number(readFileSync(join(tmp.dir, 'one.pid'), 'utf8')));
    // Nothing of the process runs before start.
    expect(c.log()).toBe('');

    expect(lk('start', 'one').status).toBe(0);
    await until(() => c.log().includes('started'));
    expect(state('one').status).toBe('running');
    // runc's words (runc 1.1), which containerd's shim matches on.
    expect(lk('start', 'one').stderr).toBe('lk-run: start: cannot start an already running container\n');
    expect(lk('delete', 'one').stderr).toBe('lk-run: delete: cannot delete container one that is not stopped: running\n');

    expect(lk('kill', 'one', 'TERM').status).toBe(0);
    await until(() => state('one').status === 'stopped');
    expect(c.log()).toContain('got-term');
    expect(lk('kill', 'one', 'KILL').stderr).toBe('lk-run: kill: container not running\n');
    expect(lk('start', 'one').stderr).toBe('lk-run: start: cannot start a container that has stopped\n');

    expect(lk('delete', 'one').status).toBe(0);
    expect(existsSync(join(stateRoot, 'one'))).toBe(false);
    expect(lk('state', 'one').stderr).toBe('lk-run: state: container "one" does not exist\n');
  });

  it('refuses a second container with the same id', () => {
    expect(create('dup', baseConfig(['sleep', '10'])).status).toBe(0);
    const again = lk('create', '--bundle', makeBundle(tmp.dir, rootfs, baseConfig(['true'])), 'dup');
    expect(again.status).not.toBe(0);
    expect(again.stderr).toBe('lk-run: create: container with given ID already exists\n');
    expect(lk('delete', '--force', 'dup').status).toBe(0);
  });

  it('reports a setup failure from create and leaves no state', () => {
    const config = baseConfig(['true']);
    config.mounts.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-source' });
    const c = create('broken', config);
    expect(c.status).toBe(125);
    expect(c.log()).toBe('lk-run: mount: /nonexistent-source: No such file or directory\n');
    expect(readdirSync(stateRoot)).not.toContain('broken');
  });

  it('reports an exec failure from start', () => {
    expect(create('noexec', baseConfig(['/bin/missing'])).status).toBe(0);
    const r = lk('start', 'noexec');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('lk-run: exec: /bin/missing: No such file or directory\n');
    expect(lk('delete', 'noexec').status).toBe(0);
  });

  it('deletes a created container that never started', () => {
    const c = create('idle', baseConfig(['true']));
    expect(c.status).toBe(0);
    const pid = state('idle').pid;
    expect(lk('delete', 'idle').status).toBe(0);
    expect(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(false);
  });

  it('rejects ids that are not plain names', () => {
    const r = lk('state', '../etc');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^lk-run: usage: invalid container id "\.\.\/etc"\n/);
  });
});
