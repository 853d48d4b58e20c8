// lk-run's command line as runc's clients (containerd's runc shim, go-runc)
// use it: global --log/--log-format, state, kill by name/number/--all,
// delete --force, exec --process, --console-socket, and runc's refusals.
// Expected words and statuses are runc 1.1's (Debian's runc 1.1.5 prints the
// same ones). Runs that need a cgroup use a private mount namespace with
// cgroup2 at /sys/fs/cgroup, as cgroup.test.ts does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baseConfig, buildLauncher, isRunning, makeBundle, makeRootfs, scratch, until } from './harness.js';

const tmp = scratch('runtime-cli');
const group = `lk-run-cli-${process.pid}`;
let launcher = '';
let rootfs = '';
let stateRoot = '';
let receiver = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  stateRoot = join(tmp.dir, 'state');
  receiver = join(tmp.dir, 'console-receiver');
  execFileSync('musl-gcc', ['-static', '-O1', '-o', receiver, fileURLToPath(new URL('console-receiver.c', import.meta.url))]);
});
afterAll(() => {
  // What a failed test left running, then the parent cgroup the containers shared.
  const sweep = `cd /sys/fs/cgroup/${group} 2>/dev/null || exit 0; for c in */; do kill -9 $(cat "$c/cgroup.procs") 2>/dev/null; done; sleep 0.2; rmdir */; cd .. && rmdir ${group}`;
  spawnSync('unshare', [...inCgroup2, 'sh', '-c', sweep]);
  tmp.cleanup();
});

const inCgroup2 = ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t cgroup2 none /sys/fs/cgroup || exit 99; exec "$@"', 'sh'];

/** lk-run with cgroup2 mounted at /sys/fs/cgroup (a private mount namespace per call). */
function lk(...args: string[]) {
  const r = spawnSync('unshare', [...inCgroup2, launcher, '--root', stateRoot, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** lk-run with its stdio (which a container or detached process keeps) in a file; returns its status and a reader. */
function lkTo(name: string, ...args: string[]) {
  const file = join(tmp.dir, `${name}.out`);
  const fd = openSync(file, 'w');
  const r = spawnSync('unshare', [...inCgroup2, launcher, '--root', stateRoot, ...args], { stdio: ['ignore', fd, fd], timeout: 30_000 });
  closeSync(fd);
  return { status: r.status, output: () => readFileSync(file, 'utf8') };
}

/** create, the container's stdio in a file. */
function create(id: string, config: Record<string, any>, extra: string[] = []) {
  const bundle = makeBundle(tmp.dir, rootfs, config);
  return { bundle, ...lkTo(id, 'create', '--bundle', bundle, ...extra, id) };
}

function state(id: string) {
  const r = lk('state', id);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

/** A config whose init reports each trapped signal, in a cgroup of its own. */
function trapping(id: string) {
  const config = baseConfig([
    '/bin/sh',
    '-c',
    'for s in USR1 USR2 HUP; do trap "echo init-$s" $s; done; echo ready; while true; do sleep 0.05; done',
  ]);
  config.linux.cgroupsPath = `/${group}/${id}`;
  return config;
}

describe('state', () => {
  it('reports created, running and stopped with the fields runc prints', async () => {
    const before = Date.now();
    const c = create('st', trapping('st'));
    expect(c.status).toBe(0);
    const created = state('st');
    expect(Object.keys(created).sort()).toEqual([
      'annotations',
      'bundle',
      'created',
      'id',
      'ociVersion',
      'owner',
      'pid',
      'rootfs',
      'status',
    ]);
    expect(created).toMatchObject({
      ociVersion: '1.0.2',
      id: 'st',
      status: 'created',
      bundle: c.bundle,
      rootfs: `${c.bundle}/rootfs`,
      owner: '',
    });
    expect(created.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(Date.parse(created.created)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(created.created)).toBeLessThanOrEqual(Date.now());
    expect(lk('start', 'st').status).toBe(0);
    expect(state('st')).toMatchObject({ status: 'running', pid: created.pid });
    expect(lk('kill', 'st', 'KILL').status).toBe(0);
    await until(() => state('st').status === 'stopped', 'stopped');
    expect(state('st').pid).toBe(0);
    expect(lk('delete', 'st').status).toBe(0);
  });
});

describe('creating', () => {
  it('is the state while a create call is still at work, and refuses start and delete', async () => {
    // The console socket's listen queue is held full, so create blocks connecting to it.
    const sock = join(tmp.dir, 'hold.sock');
    const rx = spawn(receiver, [sock, 'hold'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    rx.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('listening'), 'receiver');
    const config = baseConfig(['true']);
    config.process.terminal = true;
    const bundle = makeBundle(tmp.dir, rootfs, config);
    const creating = spawn(
      'unshare',
      [...inCgroup2, launcher, '--root', stateRoot, 'create', '--bundle', bundle, '--console-socket', sock, 'slow'],
      {
        stdio: 'ignore',
      },
    );
    const created = new Promise<number | null>((resolve) => creating.on('exit', resolve));
    await until(() => lk('state', 'slow').status === 0, 'the state to be written');
    expect(state('slow')).toMatchObject({ status: 'creating', pid: 0, bundle });
    expect(lk('start', 'slow').stderr).toBe('lk-run: start: cannot start a container in the creating state\n');
    expect(lk('delete', 'slow').stderr).toBe('lk-run: delete: cannot delete container slow that is not stopped: creating\n');
    expect(lk('delete', '--force', 'slow').stderr).toBe('lk-run: delete: cannot delete container slow that is not stopped: creating\n');
    rx.stdin.end();
    expect(await created).toBe(0);
    expect(state('slow').status).toBe('created');
    expect(lk('delete', 'slow').status).toBe(0);
    rx.kill();
  });
});

describe('kill', () => {
  it('takes signal names with and without SIG, numbers, and refuses unknown ones', async () => {
    const c = create('sig', trapping('sig'));
    expect(lk('start', 'sig').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    expect(lk('kill', 'sig', 'USR1').status).toBe(0);
    await until(() => c.output().includes('init-USR1'), 'USR1');
    expect(lk('kill', 'sig', 'SIGUSR2').status).toBe(0);
    await until(() => c.output().includes('init-USR2'), 'USR2');
    expect(lk('kill', 'sig', '1').status).toBe(0); // SIGHUP
    await until(() => c.output().includes('init-HUP'), 'HUP');
    const bad = lk('kill', 'sig', 'BOGUS');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('lk-run: kill: unknown signal "BOGUS"\n');
    expect(lk('kill', 'sig', '9').status).toBe(0);
    await until(() => state('sig').status === 'stopped', 'stopped');
    const again = lk('kill', 'sig', 'KILL');
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('lk-run: kill: container not running\n');
    expect(lk('delete', 'sig').status).toBe(0);
  });

  it('--all signals every process in the container, not just its init', async () => {
    const c = create('all', trapping('all'));
    expect(lk('start', 'all').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const pidFile = join(tmp.dir, 'all-exec.pid');
    const script = 'trap "echo exec-USR1" USR1; echo exec-ready; while true; do sleep 0.05; done';
    const r = lkTo('all-exec', 'exec', '--detach', '--pid-file', pidFile, 'all', '/bin/sh', '-c', script);
    expect(r.status).toBe(0);
    await until(() => r.output().includes('exec-ready'), 'exec ready');
    expect(lk('kill', 'all', 'USR1').status).toBe(0);
    await until(() => c.output().includes('init-USR1'), 'init USR1');
    await new Promise((r) => setTimeout(r, 300));
    expect(r.output()).not.toContain('exec-USR1');
    expect(lk('kill', '--all', 'all', 'USR1').status).toBe(0);
    await until(() => r.output().includes('exec-USR1'), 'exec USR1');
    const execPid = Number(readFileSync(pidFile, 'utf8'));
    expect(isRunning(execPid)).toBe(true);
    expect(lk('delete', '--force', 'all').status).toBe(0);
    expect(isRunning(execPid)).toBe(false);
  });
});

describe('delete --force', () => {
  it('kills a running container and removes its state and cgroup', async () => {
    const c = create('del', trapping('del'));
    expect(lk('start', 'del').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const pid = state('del').pid;
    expect(spawnSync('unshare', [...inCgroup2, 'ls', `/sys/fs/cgroup/${group}`], { encoding: 'utf8' }).stdout).toMatch(/^del$/m);
    const refused = lk('delete', 'del');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe('lk-run: delete: cannot delete container del that is not stopped: running\n');
    expect(lk('delete', '--force', 'del').status).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expect(existsSync(join(stateRoot, 'del'))).toBe(false);
    const listed = lk('state', 'del');
    expect(listed.status).toBe(1);
    expect(listed.stderr).toBe('lk-run: state: container "del" does not exist\n');
    const left = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t cgroup2 none /sys/fs/cgroup && ls /sys/fs/cgroup/${group}`], {
      encoding: 'utf8',
    });
    expect(left.stdout).not.toMatch(/^del$/m);
  });
});

describe('delete in a cgroup lk-run did not make', () => {
  it('kills the container but not the other processes there, and keeps the cgroup', async () => {
    const shared = `/sys/fs/cgroup/${group}/shared`;
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const moved = spawnSync('unshare', [...inCgroup2, 'sh', '-c', `mkdir -p ${shared} && echo ${other.pid} > ${shared}/cgroup.procs`]);
    expect(moved.status).toBe(0);
    const config = trapping('shared');
    const c = create('shared', config);
    expect(lk('start', 'shared').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const pid = state('shared').pid;
    expect(lk('delete', '--force', 'shared').status).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expect(isRunning(other.pid as number)).toBe(true);
    expect(spawnSync('unshare', [...inCgroup2, 'cat', `${shared}/cgroup.procs`], { encoding: 'utf8' }).stdout).toBe(`${other.pid}\n`);
    other.kill('SIGKILL');
  });
});

describe('runc refusals', () => {
  it("start without an id: runc's words and exit status 1", () => {
    const r = lk('start');
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe('lk-run: usage: "start" requires exactly 1 argument(s)');
    expect(lk('kill').stderr.split('\n')[0]).toBe('lk-run: usage: "kill" requires a minimum of 1 argument(s)');
    expect(lk('exec').stderr.split('\n')[0]).toBe('lk-run: usage: "exec" requires a minimum of 1 argument(s)');
  });

  it('start of a created container twice, and of a missing one', () => {
    expect(create('twice', baseConfig(['sleep', '10'])).status).toBe(0);
    expect(lk('start', 'twice').status).toBe(0);
    const again = lk('start', 'twice');
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('lk-run: start: cannot start an already running container\n');
    const missing = lk('start', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('lk-run: state: container "nope" does not exist\n');
    expect(lk('delete', '--force', 'twice').status).toBe(0);
  });

  it('--systemd-cgroup is refused, not silently ignored', () => {
    const r = lk('--systemd-cgroup', 'state', 'x');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('lk-run: usage: --systemd-cgroup: lk-run manages cgroupfs paths only');
  });
});

describe('--log', () => {
  it('writes each error as a json line with level, msg and time', () => {
    const log = join(tmp.dir, 'errors.json');
    expect(lk('--log', log, '--log-format', 'json', 'start', 'nope').status).toBe(1);
    expect(lk('--log', log, '--log-format', 'json', 'start').status).toBe(1);
    const lines = readFileSync(log, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'state: container "nope" does not exist'],
      ['error', 'usage: "start" requires exactly 1 argument(s)'],
    ]);
    for (const l of lines) {
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Math.abs(Date.parse(l.time) - Date.now())).toBeLessThan(60_000);
    }
  });

  it('creates the log file at the start, as runc does, and writes nothing on success; the cgroup verbs log too', () => {
    const log = join(tmp.dir, 'quiet.json');
    // The cgroup verbs (cmd*.c) report through the same log.
    expect(lk('--log', log, '--log-format', 'json', 'ps', '--format', 'json', 'nope').status).toBe(1);
    expect(JSON.parse(readFileSync(log, 'utf8')).msg).toBe('state: container "nope" does not exist');
    const quiet = join(tmp.dir, 'quiet-ok.json');
    expect(create('quiet', baseConfig(['true'])).status).toBe(0);
    expect(lk('--log', quiet, '--log-format', 'json', 'state', 'quiet').status).toBe(0);
    expect(readFileSync(quiet, 'utf8')).toBe('');
    expect(lk('delete', 'quiet').status).toBe(0);
  });

  it('writes logrus text lines with --log-format text', () => {
    const log = join(tmp.dir, 'errors.txt');
    expect(lk('--log', log, '--log-format', 'text', 'kill', 'nope', 'KILL').status).toBe(1);
    expect(readFileSync(log, 'utf8')).toMatch(/^time="[^"]+Z" level=error msg="state: container \\"nope\\" does not exist"\n$/);
    const bad = lk('--log-format', 'xml', 'state', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('lk-run: usage: --log-format needs text or json, not "xml"');
  });
});

describe('exec', () => {
  it('runs a process.json in every namespace of the container with its user, caps, rlimits and NNP', async () => {
    const c = create('ex', trapping('ex'));
    expect(lk('start', 'ex').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const processFile = join(tmp.dir, 'process.json');
    writeFileSync(
      processFile,
      JSON.stringify({
        args: [
          '/bin/sh',
          '-c',
          'hostname; id; pwd; echo $GREETING; cat /etc/marker; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ulimit -n; grep ^0:: /proc/self/cgroup; echo $$; exit 3',
        ],
        env: ['PATH=/bin', 'GREETING=hello'],
        cwd: '/tmp',
        user: { uid: 1000, gid: 1000, additionalGids: [1001] },
        // A non-root uid keeps capabilities across execve only as ambient ones.
        capabilities: {
          bounding: ['CAP_KILL'],
          effective: ['CAP_KILL'],
          permitted: ['CAP_KILL'],
          inheritable: ['CAP_KILL'],
          ambient: ['CAP_KILL'],
        },
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 77, hard: 77 }],
        noNewPrivileges: true,
      }),
    );
    const r = lk('exec', '--process', processFile, 'ex');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      'lk-test',
      'uid=1000 gid=1000 groups=1001',
      '/tmp',
      'hello',
      'from the image',
      'CapEff:\t0000000000000020',
      'NoNewPrivs:\t1',
      '77',
      `0::/${group}/ex`,
    ]);
    // Its pid in the container's pid namespace: the init is 1, a few more ran since.
    expect(Number(lines[9])).toBeGreaterThan(1);
    expect(Number(lines[9])).toBeLessThan(1000);
    expect(lk('delete', '--force', 'ex').status).toBe(0);
  });

  it('plain form with --env, --cwd and --pid-file --detach; refuses a stopped container', async () => {
    const c = create('ex2', trapping('ex2'));
    expect(lk('start', 'ex2').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const r = lk('exec', '--env', 'A=1', '--cwd', '/etc', 'ex2', '/bin/sh', '-c', 'echo $A $(pwd)');
    expect(r.stdout).toBe('1 /etc\n');
    expect(r.status).toBe(0);
    const pidFile = join(tmp.dir, 'ex2.pid');
    // The detached process keeps the caller's stdio, as it would a shim's fifos.
    const d = lkTo('ex2-detached', 'exec', '--detach', '--pid-file', pidFile, 'ex2', 'sleep', '30');
    expect(d.status).toBe(0);
    expect(isRunning(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
    expect(lk('pause', 'ex2').status).toBe(0);
    const paused = lk('exec', 'ex2', 'true');
    expect(paused.status).toBe(1);
    expect(paused.stderr).toBe('lk-run: exec: cannot exec in a paused container\n');
    expect(lk('resume', 'ex2').status).toBe(0);
    const missing = lk('exec', 'ex2', '/bin/missing');
    expect(missing.status).toBe(127);
    expect(missing.stderr).toBe('lk-run: exec: /bin/missing: No such file or directory\n');
    expect(lk('kill', 'ex2', 'KILL').status).toBe(0);
    await until(() => state('ex2').status === 'stopped', 'stopped');
    const stopped = lk('exec', 'ex2', 'true');
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toBe('lk-run: exec: cannot exec in a stopped container\n');
    expect(lk('delete', 'ex2').status).toBe(0);
  });

  it("plain form with runc's --user, --additional-gids, --cap and --no-new-privs; refuses bad values", async () => {
    const config = trapping('ex3');
    config.process.user = { uid: 0, gid: 0, additionalGids: [7] };
    config.process.capabilities = {
      bounding: ['CAP_KILL', 'CAP_NET_RAW'],
      effective: ['CAP_KILL'],
      permitted: ['CAP_KILL'],
      inheritable: ['CAP_KILL', 'CAP_NET_RAW'],
      ambient: ['CAP_KILL'],
    };
    const c = create('ex3', config);
    expect(lk('start', 'ex3').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const show = ['/bin/sh', '-c', 'id; grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status'];
    // Capability numbers from capability.h: CAP_KILL 5 (0x20), CAP_NET_RAW 13 (0x2000), CAP_CHOWN 0.
    // Root's execve makes its effective set the bounding and inheritable ones (capabilities(7)).
    const plain = lk('exec', 'ex3', ...show);
    expect(plain.stdout).toBe(
      'uid=0 gid=0 groups=7\nCapEff:\t0000000000002020\nCapBnd:\t0000000000002020\nCapAmb:\t0000000000000020\nNoNewPrivs:\t0\n',
    );
    const r = lk(
      'exec',
      '--user',
      '0:5',
      '-g',
      '8',
      '--additional-gids=9',
      '--cap',
      'CAP_NET_RAW',
      '-c',
      'cap_chown',
      '--no-new-privs',
      'ex3',
      ...show,
    );
    expect(r.stderr).toBe('');
    // CAP_CHOWN is not inheritable, so not ambient either.
    expect(r.stdout).toBe(
      'uid=0 gid=5 groups=7,8,9\nCapEff:\t0000000000002021\nCapBnd:\t0000000000002021\nCapAmb:\t0000000000002020\nNoNewPrivs:\t1\n',
    );
    // A uid alone keeps the process's gid; a non-root uid keeps across execve only its ambient capabilities.
    expect(lk('exec', '-u', '1000', 'ex3', ...show).stdout).toBe(
      'uid=1000 gid=0 groups=7\nCapEff:\t0000000000000020\nCapBnd:\t0000000000002020\nCapAmb:\t0000000000000020\nNoNewPrivs:\t0\n',
    );
    expect(lk('exec', '-u', '1000', '--cap', 'CAP_NET_RAW', 'ex3', ...show).stdout).toBe(
      'uid=1000 gid=0 groups=7\nCapEff:\t0000000000002020\nCapBnd:\t0000000000002020\nCapAmb:\t0000000000002020\nNoNewPrivs:\t0\n',
    );
    for (const [args, message] of [
      [['--user', 'nobody'], '--user needs UID[:GID] as numbers, not "nobody"'],
      [['--user', '1000:'], '--user needs UID[:GID] as numbers, not "1000:"'],
      [['--user', '4294967295'], '--user needs UID[:GID] as numbers, not "4294967295"'],
      [['-g', '-1'], '--additional-gids needs a gid (at most 64), not "-1"'],
      [['--cap', 'CAP_FLY'], '--cap: unknown capability "CAP_FLY"'],
    ] as [string[], string][]) {
      const bad = lk('exec', ...args, 'ex3', 'true');
      expect(bad.status, args.join(' ')).toBe(2);
      expect(bad.stderr.split('\n')[0]).toBe(`lk-run: usage: ${message}`);
    }
    const missing = lk('exec', '--user');
    expect(missing.status).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('lk-run: usage: --user needs a value');
    // Only exec takes them.
    expect(lk('--user', '0', 'state', 'ex3').stderr.split('\n')[0]).toBe('lk-run: usage: unknown option --user');
    expect(lk('delete', '--force', 'ex3').status).toBe(0);
  });
});

describe('--console-socket', () => {
  /** Starts the receiver on a fresh socket path; resolves with what it printed once the pty closes. */
  function receive(name: string) {
    const sock = join(tmp.dir, `${name}.sock`);
    const child = spawn(receiver, [sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // 'close', not 'exit': the receiver's last output (flushed as it exits) may still be in the pipe at 'exit'.
    const done = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
    return { sock, listening: until(() => out.includes('listening'), 'receiver'), done };
  }

  it('create hands the pty master over the socket; the container has the slave as its terminal', async () => {
    const rx = receive('init');
    await rx.listening;
    const config = baseConfig([
      '/bin/sh',
      '-c',
      'readlink /proc/self/fd/0; readlink /proc/self/fd/1; test -t 0 && echo is-a-tty; stat -c %t:%T /dev/console',
    ]);
    config.process.terminal = true;
    config.process.consoleSize = { height: 33, width: 101 };
    const c = create('pty', config, ['--console-socket', rx.sock]);
    expect(c.status).toBe(0);
    expect(lk('start', 'pty').status).toBe(0);
    const out = (await rx.done).replace(/\r/g, '');
    expect(out).toBe('listening\ntty\nwinsize 33 101\n/dev/pts/0\n/dev/pts/0\nis-a-tty\n88:0\n');
    // The pty closes as the process exits, a moment before it is gone.
    await until(() => state('pty').status === 'stopped', 'stopped');
    expect(lk('delete', 'pty').status).toBe(0);
  });

  it("exec --tty hands over a pty of the container's devpts", async () => {
    const c = create('ptyx', trapping('ptyx'));
    expect(lk('start', 'ptyx').status).toBe(0);
    await until(() => c.output().includes('ready'), 'ready');
    const rx = receive('exec');
    await rx.listening;
    const r = lk('exec', '--tty', '--console-socket', rx.sock, 'ptyx', '/bin/sh', '-c', 'readlink /proc/self/fd/2');
    expect(r.status).toBe(0);
    expect((await rx.done).replace(/\r/g, '')).toBe('listening\ntty\nwinsize 0 0\n/dev/pts/0\n');
    expect(lk('delete', '--force', 'ptyx').status).toBe(0);
  });

  it("run leaves process.terminal to its caller: the container gets lk-run's stdio", () => {
    const config = baseConfig(['/bin/sh', '-c', 'test -t 1 || echo not-a-tty']);
    config.process.terminal = true;
    const r = lk('run', '--bundle', makeBundle(tmp.dir, rootfs, config), 'runterm');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('not-a-tty\n');
    expect(r.status).toBe(0);
  });

  it('a terminal without a console socket, and a socket without a terminal, are refused', () => {
    const config = baseConfig(['true']);
    config.process.terminal = true;
    const r = create('noterm', config);
    expect(r.status).toBe(1);
    expect(r.output()).toBe('lk-run: create: process.terminal needs --console-socket\n');
    expect(existsSync(join(stateRoot, 'noterm'))).toBe(false);
    const s = create('nosock', baseConfig(['true']), ['--console-socket', join(tmp.dir, 'unused.sock')]);
    expect(s.status).toBe(1);
    expect(s.output()).toBe('lk-run: create: --console-socket needs process.terminal\n');
    expect(existsSync(join(stateRoot, 'nosock'))).toBe(false);
  });
});
