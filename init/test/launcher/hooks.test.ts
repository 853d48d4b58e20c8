// lk-run's OCI hooks, driven through create/start/kill/delete and run as a
// runtime's clients do. Each hook appends "name|mount ns|pid ns|stdin" to a
// log; the namespaces expected come from the kernel (/proc/<pid>/ns/*).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  baseConfig,
  buildLauncher,
  createContainer,
  makeBundle,
  makeRootfs,
  processesMentioning,
  runLauncher,
  scratch,
  until,
  type Config,
} from './harness.js';

const tmp = scratch('hooks');
let launcher = '';
let rootfs = '';
let stateRoot = '';
let logDir = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
  logDir = join(tmp.dir, 'hooklog');
  mkdirSync(logDir);
});
afterAll(() => {
  // A failed test may leave a container behind: its process would outlive the run.
  for (const id of existsSync(stateRoot) ? readdirSync(stateRoot) : []) lk('delete', '--force', id);
  tmp.cleanup();
});

function lk(...args: string[]) {
  return runLauncher(launcher, ['--root', stateRoot, ...args]);
}

/** A hook that logs where it ran and what it read; log is a path where the hook runs. */
function logHook(name: string, log: string, extra = '') {
  const script = `echo "$0|$(readlink /proc/self/ns/mnt)|$(readlink /proc/self/ns/pid)|$(cat)" >> ${log}${extra}`;
  return { path: '/bin/sh', args: ['sh', '-c', script, name], env: ['PATH=/usr/bin:/bin'] };
}

/** A config whose six hook kinds all log; startContainer's log is the bind-mounted /hooklog. */
function hookedConfig(args: string[], log: string): Config {
  const config = baseConfig(args);
  config.mounts.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind'] });
  config.annotations = { 'org.example/hooks': 'yes' };
  config.hooks = {
    prestart: [logHook('prestart', join(logDir, log))],
    createRuntime: [logHook('createRuntime', join(logDir, log))],
    createContainer: [logHook('createContainer', join(logDir, log))],
    startContainer: [logHook('startContainer', `/hooklog/${log}`)],
    poststart: [logHook('poststart', join(logDir, log))],
    poststop: [logHook('poststop', join(logDir, log))],
  };
  return config;
}

interface Entry {
  name: string;
  mnt: string;
  pid: string;
  state: Record<string, any>;
}

function entries(log: string): Entry[] {
  const path = join(logDir, log);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [name, mnt, pid, ...json] = line.split('|');
      return { name, mnt, pid, state: JSON.parse(json.join('|')) };
    });
}

function create(id: string, config: Config) {
  return createContainer(launcher, stateRoot, makeBundle(tmp.dir, rootfs, config), id);
}

function state(id: string) {
  const r = lk('state', id);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

const hostMnt = () => readlinkSync('/proc/self/ns/mnt');
const hostPid = () => readlinkSync('/proc/self/ns/pid');

describe('hooks', () => {
  it('runs each kind at its step, in its namespace, with the state on stdin', async () => {
    const c = create('all', hookedConfig(['/bin/sh', '-c', 'echo started; exec sleep 30'], 'all.log'));
    expect(c.output()).toBe('');
    expect(c.status).toBe(0);
    const pid = state('all').pid;
    const containerMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    const containerPid = readlinkSync(`/proc/${pid}/ns/pid_for_children`);
    expect(containerMnt).not.toBe(hostMnt());

    const common = { ociVersion: '1.0.2', id: 'all', bundle: c.bundle, annotations: { 'org.example/hooks': 'yes' } };
    let log = entries('all.log');
    expect(log.map((e) => e.name)).toEqual(['prestart', 'createRuntime', 'createContainer']);
    expect(log.map((e) => e.mnt)).toEqual([hostMnt(), hostMnt(), containerMnt]);
    expect(log.map((e) => e.pid)).toEqual([hostPid(), hostPid(), containerPid]);
    for (const e of log) expect(e.state).toEqual({ ...common, status: 'creating', pid });

    expect(lk('start', 'all')).toMatchObject({ status: 0, stderr: '' });
    await until(() => c.output().includes('started'));
    log = entries('all.log');
    expect(log.slice(3).map((e) => [e.name, e.mnt, e.pid])).toEqual([
      ['startContainer', containerMnt, containerPid],
      ['poststart', hostMnt(), hostPid()],
    ]);
    expect(log[3].state).toEqual({ ...common, status: 'created', pid });
    expect(log[4].state).toEqual({ ...common, status: 'running', pid });

    expect(lk('kill', 'all', 'KILL').status).toBe(0);
    await until(() => state('all').status === 'stopped');
    expect(lk('delete', 'all')).toMatchObject({ status: 0, stderr: '' });
    log = entries('all.log');
    expect(log.map((e) => e.name)).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect([log[5].mnt, log[5].pid]).toEqual([hostMnt(), hostPid()]);
    expect(log[5].state).toEqual({ ...common, status: 'stopped' });
  });

  it('runs prestart once the namespaces and mounts exist, before the pivot', () => {
    const out = join(logDir, 'moment.out');
    // The container's pid from the state on stdin; what the kernel shows of it at that moment.
    const script = `pid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/'); readlink /proc/$pid/ns/net > ${out}; test -e /proc/$pid/root/etc/marker && echo pivoted >> ${out} || echo not-pivoted >> ${out}; cut -d' ' -f5 /proc/$pid/mountinfo >> ${out}`;
    const config = baseConfig(['sleep', '30']);
    config.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', script], env: ['PATH=/usr/bin:/bin'] }] };
    const c = create(`moment-${process.pid}`, config);
    expect(c.status).toBe(0);
    const pid = Number(readFileSync(c.pidFile, 'utf8'));
    const [net, pivot, ...mountPoints] = readFileSync(out, 'utf8').trim().split('\n');
    expect(net).toBe(readlinkSync(`/proc/${pid}/ns/net`));
    expect(net).not.toBe(readlinkSync('/proc/self/ns/net'));
    // Not pivoted yet (its root still the host's, without the image's /etc/marker);
    // the container's /tmp is mounted below the rootfs already.
    expect(existsSync('/etc/marker')).toBe(false);
    expect(pivot).toBe('not-pivoted');
    expect(existsSync(`/proc/${pid}/root/etc/marker`)).toBe(true);
    expect(mountPoints).toContain(join(realpathSync(rootfs), 'tmp'));
    expect(lk('delete', '--force', `moment-${process.pid}`).status).toBe(0);
  });

  it('resolves startContainer’s path in the container, the others in the runtime', () => {
    // A program only the image has: busybox under another name (argv[0] picks the applet).
    const image = makeRootfs(join(tmp.dir, 'image-only'));
    symlinkSync('busybox', join(image, 'bin/only-in-image'));
    expect(existsSync('/bin/only-in-image')).toBe(false);
    const hook = { path: '/bin/only-in-image', args: ['true'] };
    const inContainer = baseConfig(['echo', 'ran']);
    inContainer.hooks = { startContainer: [hook] };
    const r = runLauncher(launcher, ['run', '--bundle', makeBundle(tmp.dir, image, inContainer), 'image-hook']);
    expect(r).toMatchObject({ status: 0, stdout: 'ran\n', stderr: '' });
    const inRuntime = baseConfig(['echo', 'ran']);
    inRuntime.hooks = { createRuntime: [hook] };
    const refused = runLauncher(launcher, ['run', '--bundle', makeBundle(tmp.dir, image, inRuntime), 'image-hook']);
    expect(refused).toMatchObject({
      status: 125,
      stdout: '',
      stderr: 'lk-run: hooks: createRuntime[0] /bin/only-in-image: cannot execute: No such file or directory\n',
    });
  });

  it('runs poststop after delete has removed the container', () => {
    const config = baseConfig(['true']);
    config.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `test -e ${stateRoot}/gone && echo present || echo removed`] }] };
    expect(create('gone', config).status).toBe(0);
    const r = lk('delete', '--force', 'gone');
    expect(r).toMatchObject({ status: 0, stdout: 'removed\n' });
  });

  it('runs the hooks of `run` too, poststop after the process exited', () => {
    const config = hookedConfig(['/bin/sh', '-c', 'echo hello'], 'run.log');
    const r = runLauncher(launcher, ['run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'runner']);
    expect(r).toMatchObject({ status: 0, stdout: 'hello\n', stderr: '' });
    expect(entries('run.log').map((e) => e.name)).toEqual([
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
  });

  it('kills a hook at its timeout and leaves nothing of the container', () => {
    const config = hookedConfig(['true'], 'timeout.log');
    const seconds = String(100_000 + process.pid);
    config.hooks.createRuntime = [{ path: '/bin/sleep', args: ['sleep', seconds], timeout: 1 }];
    const started = Date.now();
    const id = `slow-${process.pid}`;
    const c = create(id, config);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(c.status).toBe(125);
    expect(c.output()).toBe('lk-run: hooks: createRuntime[0] /bin/sleep: timed out after 1 s\n');
    expect(processesMentioning(seconds)).toEqual([]);
    expect(processesMentioning(id)).toEqual([]);
    expect(existsSync(join(stateRoot, id))).toBe(false);
    expect(existsSync(c.pidFile)).toBe(false);
    // prestart ran, createContainer did not; the lifecycle went on to poststop.
    expect(entries('timeout.log').map((e) => e.name)).toEqual(['prestart', 'poststop']);
  });

  it('aborts create when a createContainer hook fails', () => {
    const config = hookedConfig(['true'], 'fail.log');
    config.hooks.createContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }];
    const id = `badcc-${process.pid}`;
    const c = create(id, config);
    expect(c.status).toBe(125);
    expect(c.output()).toBe('lk-run: hooks: createContainer[0] /bin/sh: exited with status 3\n');
    expect(existsSync(join(stateRoot, id))).toBe(false);
    expect(processesMentioning(id)).toEqual([]);
    expect(lk('state', id).stderr).toBe(`lk-run: state: container "${id}" does not exist\n`);
  });

  it('fails start and stops the container when a startContainer hook fails', async () => {
    const config = baseConfig(['/bin/sh', '-c', 'echo should-not-run']);
    config.hooks = { startContainer: [{ path: '/bin/false' }] };
    const c = create('badstart', config);
    expect(c.status).toBe(0);
    const r = lk('start', 'badstart');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('lk-run: hooks: startContainer[0] /bin/false: exited with status 1\n');
    await until(() => state('badstart').status === 'stopped');
    expect(c.output()).toBe('');
    expect(lk('delete', 'badstart').status).toBe(0);
  });

  it('only logs a failing poststart hook, and runs the next one', async () => {
    const config = baseConfig(['/bin/sh', '-c', 'exec sleep 30']);
    config.hooks = {
      poststart: [
        { path: '/bin/sh', args: ['sh', '-c', 'exit 4'] },
        { path: '/bin/sh', args: ['sh', '-c', 'echo second'] },
      ],
    };
    expect(create('post', config).status).toBe(0);
    const r = lk('start', 'post');
    expect(r).toMatchObject({
      status: 0,
      stdout: 'second\n',
      stderr: 'lk-run: warning: hooks: poststart[0] /bin/sh: exited with status 4\n',
    });
    expect(state('post').status).toBe('running');
    expect(lk('delete', '--force', 'post').status).toBe(0);
  });

  it('passes args and env as given, and nothing of lk-run’s environment', () => {
    const out = join(logDir, 'env.out');
    const config = baseConfig(['true']);
    const script = `cat /proc/$$/cmdline > ${out}.argv; env > ${out}.env`;
    config.hooks = { prestart: [{ path: '/bin/sh', args: ['first', '-c', script, 'zero', 'one'], env: ['A=1', 'B=two words'] }] };
    const r = spawnSync(launcher, ['run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'env'], {
      encoding: 'utf8',
      env: { ...process.env, LEAK: 'yes' },
    });
    expect(r.status).toBe(0);
    expect(readFileSync(`${out}.argv`, 'utf8')).toBe(['first', '-c', script, 'zero', 'one', ''].join('\0'));
    // dash adds PWD to what it was given.
    const env = readFileSync(`${out}.env`, 'utf8').trim().split('\n').sort();
    expect(env.filter((v) => !v.startsWith('PWD='))).toEqual(['A=1', 'B=two words']);
  });

  it('keeps the container’s preserved descriptors from the hooks', () => {
    const out = join(logDir, 'fds.out');
    const config = baseConfig(['/bin/sh', '-c', 'ls /proc/self/fd/3 > /dev/null && echo container-has-3']);
    config.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `ls /proc/$$/fd > ${out}`] }] };
    const r = spawnSync(launcher, ['run', '--preserve-fds', '1', '--bundle', makeBundle(tmp.dir, rootfs, config), 'fds'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('container-has-3\n');
    // dash holds 10 (its saved stdout) while it redirects; 3 would be the container's.
    expect(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((fd) => fd && fd !== '10'),
    ).toEqual(['0', '1', '2']);
  });

  it('lets a hook that ignores its stdin finish', () => {
    const config = baseConfig(['true']);
    config.annotations = { big: 'x'.repeat(1 << 20) };
    config.hooks = { createRuntime: [{ path: '/bin/true', timeout: 5 }] };
    const r = runLauncher(launcher, ['run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'big']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
  });

  it('refuses hooks that are not what the spec allows', () => {
    const cases: [Config['hooks'], string][] = [
      [{ prestart: [{ path: 'relative/hook' }] }, 'hooks.prestart[0].path: "relative/hook" is not an absolute path'],
      [{ poststop: [{ path: '/bin/true', timeout: 0 }] }, 'hooks.poststop[0].timeout: 0 is out of range [1, 2147483647]'],
      [{ createRuntime: [{ args: ['x'] }] }, 'hooks.createRuntime[0]: missing path'],
      [{ startContainer: {} }, 'hooks.startContainer: expected array, got object'],
    ];
    for (const [hooks, message] of cases) {
      const config = baseConfig(['true']);
      config.hooks = hooks;
      const r = lk('create', '--bundle', makeBundle(tmp.dir, rootfs, config), 'refused');
      expect(r.stderr).toBe(`lk-run: config: ${message}\n`);
      expect(r.status).toBe(125);
      expect(existsSync(join(stateRoot, 'refused'))).toBe(false);
    }
  });
});
