// Shared fixtures for the lk-run tests: build the launcher (once per source
// version), make busybox bundles, run the launcher and capture the result.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const launcherSource = resolve(here, '../../../lk-run');
export const busybox = '/bin/busybox';

const applets = [
  'sh',
  'true',
  'false',
  'echo',
  'cat',
  'id',
  'hostname',
  'ls',
  'mount',
  'ps',
  'sleep',
  'env',
  'pwd',
  'kill',
  'chown',
  'touch',
  'test',
  'grep',
  'readlink',
  'stat',
  'mknod',
  'umount',
  'ln',
  'wc',
  'head',
];

/** A scratch directory unique to one test file, removed by cleanup(). */
export function scratch(name: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lk-run-${name}-`));
  // Containers with a user namespace run as another host uid and must reach their rootfs.
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Builds lk-run with its Makefile and returns the binary's path. Test files
 * run in parallel: each builds into its own directory, then the first to
 * finish publishes it under the sources' hash and the others reuse that.
 */
export function buildLauncher(outDir: string): string {
  // LK_RUN_TEST_BINARY runs the tests against another build (an older one, to see a test fail).
  if (process.env.LK_RUN_TEST_BINARY) return process.env.LK_RUN_TEST_BINARY;
  const hash = createHash('sha256');
  for (const name of readdirSync(launcherSource).sort()) {
    if (/\.(c|h)$|^Makefile$/.test(name)) hash.update(name).update(readFileSync(join(launcherSource, name)));
  }
  const shared = join(tmpdir(), `lk-run-build-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(shared, 'lk-run'))) return join(shared, 'lk-run');
  execFileSync('make', ['-s', '-C', launcherSource, `OUT=${outDir}`], { stdio: 'inherit' });
  try {
    renameSync(outDir, shared);
  } catch {
    // Another file published the same build first.
  }
  return existsSync(join(shared, 'lk-run')) ? join(shared, 'lk-run') : join(outDir, 'lk-run');
}

/** A busybox root filesystem: the static binary plus applet links. */
export function makeRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc', 'mnt']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const applet of applets) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc/marker'), 'from the image\n');
  return dir;
}

export type Config = Record<string, any>;

/** The config most tests start from: new namespaces, /proc, /dev, /tmp. */
export function baseConfig(args: string[]): Config {
  return {
    ociVersion: '1.0.2',
    process: { args, env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs', readonly: false },
    hostname: 'lk-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=1024k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }],
    },
  };
}

let bundleCount = 0;

/** A bundle directory with config.json; the rootfs is shared (by symlink) unless given. */
export function makeBundle(parent: string, rootfs: string, config: Config | string): string {
  const dir = join(parent, `bundle-${++bundleCount}`);
  mkdirSync(dir);
  symlinkSync(rootfs, join(dir, 'rootfs'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runLauncher(launcher: string, args: string[]): RunResult {
  const r = spawnSync(launcher, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? 128 + 9, stdout: r.stdout, stderr: r.stderr };
}

/** lk-run run --bundle <bundle> <id> */
export function runBundle(launcher: string, bundle: string, id = 'test'): RunResult {
  return runLauncher(launcher, ['run', '--bundle', bundle, id]);
}

/** Starts lk-run run in the background (for signal tests). */
export function startBundle(launcher: string, bundle: string, id = 'test') {
  const child = spawn(launcher, ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? 9 : 0))));
  return { child, exited, output: () => stdout };
}

/** Pids of a process's children (the container's init is lk-run's child). */
export function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Waits until the background container has printed marker. */
export async function waitForOutput(output: () => string, marker: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!output().includes(marker)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(marker)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True while pid exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** lk-run create, with the container's stdio in a file: it outlives the create call. */
export function createContainer(launcher: string, stateRoot: string, bundle: string, id: string) {
  const out = `${bundle}.${id}.out`;
  const fd = openSync(out, 'w');
  const r = spawnSync(launcher, ['--root', stateRoot, 'create', '--bundle', bundle, '--pid-file', `${bundle}.${id}.pid`, id], {
    stdio: ['ignore', fd, fd],
    timeout: 30_000,
  });
  closeSync(fd);
  return { status: r.status, bundle, pidFile: `${bundle}.${id}.pid`, output: () => readFileSync(out, 'utf8') };
}

/** Polls check until it holds (10 s at most unless ms says otherwise); what names it in the timeout. */
export async function until(check: () => boolean, what = 'the condition', ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Processes with word as one of their arguments (lk-run's clone keeps lk-run's command line). */
export function processesMentioning(word: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(word)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
