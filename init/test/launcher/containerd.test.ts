// Debian's containerd (1.6) drives lk-run through its runc v2 shim, as runc:
// `ctr run --runc-binary`, `ctr task exec`, `kill`, `delete` and `ctr run -t`.
// A private containerd (own root, state, socket and config) runs in a private
// mount namespace with cgroup2 at /sys/fs/cgroup: this host's hybrid layout
// keeps the unified hierarchy at /sys/fs/cgroup/unified, where neither
// containerd nor lk-run looks (see cgroup.test.ts). Every shim and container
// inherits that namespace. The image is busybox, made here with umoci and
// archived with skopeo; nothing comes from a network. ctr's fifos go to the
// temp dir too; only containerd's shim sockets use /run/containerd/s (fixed in 1.6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { chmodSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { buildLauncher, busybox, scratch, until } from './harness.js';

const tmp = scratch('containerd');
const dir = tmp.dir;
const address = join(dir, 'containerd.sock');
const runtimeRoot = join(dir, 'runtime');
const calls = join(dir, 'calls.log');
const image = 'docker.io/library/busybox:lk';
// A containerd namespace of its own: it names the cgroups (/<ns>/<id>) and the runtime's state directory.
const ns = `lk-test-${process.pid}`;
const inCgroup2 = ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t cgroup2 none /sys/fs/cgroup || exit 99; exec "$@"', 'sh'];
let containerd: ChildProcess | undefined;
let runtime = '';
let runFlags: string[] = [];

function ctr(args: string[], timeout = 60_000) {
  const r = spawnSync('ctr', ['--address', address, '--namespace', ns, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ctr with a terminal of its own: `script` gives it a pty. */
function ctrOnTty(args: string[]) {
  const command = ['ctr', '--address', address, '--namespace', ns, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.replace(/\r/g, '') };
}

/** What the unified hierarchy holds at path, as containerd's namespace sees it. */
function cgroupEntries(path: string): string[] {
  const r = spawnSync('unshare', [...inCgroup2, 'ls', join('/sys/fs/cgroup', path)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** busybox with the applets the tests use, as an OCI archive. */
function makeImageArchive(): string {
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'unpacked');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:lk`]);
  execFileSync('umoci', ['unpack', '--image', `${layout}:lk`, bundle]);
  execFileSync('mkdir', ['-p', join(bundle, 'rootfs/bin'), join(bundle, 'rootfs/etc')]);
  execFileSync('cp', [busybox, join(bundle, 'rootfs/bin/busybox')]);
  for (const applet of ['sh', 'echo', 'sleep', 'tty', 'cat', 'ls', 'id']) symlinkSync('busybox', join(bundle, 'rootfs/bin', applet));
  writeFileSync(join(bundle, 'rootfs/etc/marker'), 'from the image\n');
  execFileSync('umoci', ['repack', '--image', `${layout}:lk`, bundle]);
  execFileSync('umoci', ['config', '--image', `${layout}:lk`, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/bin']);
  const archive = join(dir, 'busybox.oci.tar');
  execFileSync('skopeo', ['copy', '--insecure-policy', `oci:${layout}:lk`, `oci-archive:${archive}:${image}`]);
  return archive;
}

beforeAll(async () => {
  const launcher = buildLauncher(join(dir, 'out'));
  // The shim runs this as runc: it records each call, then is lk-run.
  runtime = join(dir, 'lk-run-logged');
  writeFileSync(runtime, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${launcher}' "$@"\n`);
  chmodSync(runtime, 0o755);
  writeFileSync(
    join(dir, 'config.toml'),
    `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n` +
      `[grpc]\n  address = "${address}"\n[ttrpc]\n  address = "${address}.ttrpc"\n`,
  );
  containerd = spawn('unshare', [...inCgroup2, 'containerd', '--config', join(dir, 'config.toml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  containerd.stderr?.on('data', (d) => (log += d));
  await until(() => existsSync(address) && ctr(['version'], 10_000).status === 0, 'containerd to serve', 30_000).catch((e) => {
    throw new Error(`${e.message}: ${log.slice(-500)}`);
  });
  const imported = ctr(['images', 'import', makeImageArchive()]);
  expect(imported.stderr).toBe('');
  // ctr asks for cpu shares (1024) by default. Where the cpu controller is
  // bound to cgroup v1 (this host) the unified hierarchy has no cpu.weight,
  // so the run asks for none; lk-run would rightly refuse the setting.
  const controllers = spawnSync('unshare', [...inCgroup2, 'cat', '/sys/fs/cgroup/cgroup.controllers'], { encoding: 'utf8' }).stdout;
  runFlags = [
    '--fifo-dir',
    join(dir, 'fifo'),
    '--runc-binary',
    runtime,
    '--runc-root',
    runtimeRoot,
    ...(/\bcpu\b/.test(controllers) ? [] : ['--cpu-shares', '0']),
  ];
}, 180_000);

afterAll(async () => {
  // Tasks a failed test left: their shims would outlive containerd.
  for (const id of ctr(['task', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['task', 'delete', '--force', id]);
    ctr(['container', 'delete', id]);
  }
  if (containerd && containerd.exitCode === null) {
    containerd.kill('SIGTERM');
    await new Promise((r) => containerd?.once('exit', r));
  }
  tmp.cleanup();
});

/** The calls the shim made for one container, with paths shortened. */
function callsFor(id: string): string[] {
  const taskDir = join(dir, 'state/io.containerd.runtime.v2.task', ns, id);
  return readFileSync(calls, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${id}`) || l.includes(` ${id} `))
    .map((l) =>
      l
        .replaceAll(taskDir, 'TASK')
        .replaceAll(runtimeRoot, 'ROOT')
        .replace(/\/tmp\/runc-process\d+/, 'PROCESS')
        .replace(/\/tmp\/pty\d+\/pty\.sock/, 'PTY'),
    );
}

const globals = () => `--root ROOT/${ns} --log TASK/log.json --log-format json`;

describe('containerd with lk-run as its runc', () => {
  it('ctr run: the command runs in busybox, its output and exit status come back, then all is removed', () => {
    // Under heavy load (all launcher test files at once on 2 cores) ctr twice printed less than
    // the process wrote when it exited at once: once only the first line, once (in 60 runs by
    // hand) nothing; 20 runs with runc showed none. Not understood yet (see the lkshim report);
    // the commands pause before exiting so these tests stay about the runtime's calls.
    const r = ctr(['run', '--rm', ...runFlags, image, 'one', 'sh', '-c', 'echo hello; cat /etc/marker; sleep 0.3; exit 3']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\nfrom the image\n');
    expect(r.status).toBe(3);
    expect(callsFor('one')).toEqual([
      `${globals()} create --bundle TASK --pid-file TASK/init.pid one`,
      `${globals()} start one`,
      `${globals()} delete one`,
      `${globals()} delete --force one`,
    ]);
    expect(existsSync(join(runtimeRoot, ns, 'one'))).toBe(false);
    expect(cgroupEntries(ns)).not.toContain('one');
  });

  it('ctr task exec runs a second process, ps lists it, pause/resume; kill and delete remove the cgroup and state', async () => {
    expect(ctr(['run', '-d', ...runFlags, image, 'two', 'sleep', '1000']).status).toBe(0);
    expect(cgroupEntries(ns)).toContain('two');
    expect(existsSync(join(runtimeRoot, ns, 'two/state.json'))).toBe(true);
    const e = ctr([
      'task',
      'exec',
      '--fifo-dir',
      join(dir, 'fifo'),
      '--exec-id',
      'second',
      'two',
      'sh',
      '-c',
      'echo in-exec; cat /proc/self/cgroup | grep ^0::; sleep 0.3; exit 4',
    ]);
    expect(e.stdout).toBe(`in-exec\n0::/${ns}/two\n`);
    expect(e.status).toBe(4);
    // ps --format json: the init's host pid, as `ctr task ls` shows it.
    const pid = /\btwo\s+(\d+)\s+RUNNING/.exec(ctr(['task', 'ls']).stdout)?.[1];
    expect(pid).toBeDefined();
    const ps = ctr(['task', 'ps', 'two']);
    expect(
      ps.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['PID', pid]);
    expect(ctr(['task', 'pause', 'two']).status).toBe(0);
    expect(ctr(['task', 'ls']).stdout).toMatch(/\btwo\s+\d+\s+PAUSED/);
    expect(ctr(['task', 'resume', 'two']).status).toBe(0);
    expect(ctr(['task', 'ls']).stdout).toMatch(/\btwo\s+\d+\s+RUNNING/);
    const tty = ctrOnTty(['task', 'exec', '--fifo-dir', join(dir, 'fifo'), '-t', '--exec-id', 'third', 'two', 'tty']);
    // ctr may also log that it could not resize the pty of a process that had
    // already exited (it does so with runc too).
    expect(tty.stdout).toMatch(/^(\^@)?\/dev\/pts\/\d+$/m);
    expect(ctr(['task', 'kill', '-s', 'SIGKILL', 'two']).status).toBe(0);
    await until(() => /\btwo\s+\d+\s+STOPPED/.test(ctr(['task', 'ls']).stdout), 'the task to stop', 30_000);
    const d = ctr(['task', 'delete', 'two']);
    expect(d.status).toBe(0);
    expect(d.stderr).toMatch(/^time="[^"]+" level=warning msg="task two exit with non-zero exit code 137"\n$/);
    expect(ctr(['container', 'delete', 'two']).status).toBe(0);
    expect(existsSync(join(runtimeRoot, ns, 'two'))).toBe(false);
    expect(cgroupEntries(ns)).not.toContain('two');
    expect(callsFor('two')).toEqual([
      `${globals()} create --bundle TASK --pid-file TASK/init.pid two`,
      `${globals()} start two`,
      `${globals()} exec --process PROCESS --detach --pid-file TASK/second.pid two`,
      `${globals()} ps --format json two`,
      `${globals()} pause two`,
      `${globals()} resume two`,
      `${globals()} exec --process PROCESS --console-socket PTY --detach --pid-file TASK/third.pid two`,
      `${globals()} kill two 9`,
      `${globals()} delete two`,
      `${globals()} delete --force two`,
    ]);
  });

  it('ctr task kill --all stops every process', async () => {
    expect(ctr(['run', '-d', ...runFlags, image, 'three', 'sleep', '1000']).status).toBe(0);
    expect(ctr(['task', 'kill', '--all', '-s', 'SIGKILL', 'three']).status).toBe(0);
    await until(() => /\bthree\s+\d+\s+STOPPED/.test(ctr(['task', 'ls']).stdout), 'the task to stop', 30_000);
    expect(ctr(['task', 'delete', 'three']).status).toBe(0);
    expect(ctr(['container', 'delete', 'three']).status).toBe(0);
    expect(callsFor('three')).toContain(`${globals()} kill --all three 9`);
  });

  it('ctr run -t gives the container a terminal', () => {
    const r = ctrOnTty(['run', '--rm', '-t', ...runFlags, image, 'four', 'sh', '-c', 'tty; sleep 0.3; exit 5']);
    // ctr writes a NUL to the terminal too (script shows it as ^@), before or after the output.
    expect(r.stdout.replace('^@', '')).toMatch(/^\/dev\/pts\/\d+\n$/);
    expect(r.status).toBe(5);
    expect(callsFor('four')[0]).toBe(`${globals()} create --bundle TASK --pid-file TASK/init.pid --console-socket PTY four`);
    expect(existsSync(join(runtimeRoot, ns, 'four'))).toBe(false);
  });

  it('an lk-run error reaches ctr through the json --log the shim reads back', () => {
    const r = ctr(['run', '--rm', ...runFlags, image, 'five', '/bin/missing']);
    expect(r.status).toBe(1);
    // The shim quotes the last error line of log.json; from stderr it would say "exit status 1: lk-run: ...".
    expect(r.stderr).toBe('ctr: OCI runtime start failed: exec: /bin/missing: No such file or directory: unknown\n');
    expect(callsFor('five')[0]).toBe(`${globals()} create --bundle TASK --pid-file TASK/init.pid five`);
    expect(ctr(['container', 'ls', '-q']).stdout).toBe('');
    expect(existsSync(join(runtimeRoot, ns, 'five'))).toBe(false);
  });

  it("leaves no cgroup behind: the namespace's parent cgroup went with the last container", () => {
    expect(cgroupEntries('').filter((e) => e === ns)).toEqual([]);
  });
});
