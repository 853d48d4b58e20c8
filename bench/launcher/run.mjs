#!/usr/bin/env node
// Container start cost: the same OCI bundle (/bin/true in a busybox rootfs, new pid, mount,
// ipc and uts namespaces, no network namespace) run N times each with lk-run, crun and runc,
// interleaved so that load from other work affects all three alike. The figure is the wall
// time of one `<runtime> run` as its caller sees it: spawn, container setup, /bin/true,
// wait, teardown. Prints median and mean per runtime and the lines
//   lk-run/crun <ratio>
//   lk-run/runc <ratio>
// (ratios of the medians).
//
// Usage (as root): node bench/launcher/run.mjs [--runs 200] [--block 1] [--warmup 10]
//   env LK_BENCH_RUNS, LK_BENCH_BLOCK, LK_BENCH_WARMUP do the same. lk-run is built from
//   lk-run/ into the temp dir; LK_RUN=/path/to/lk-run uses that binary instead.
//
// Fairness: all three read the same config.json, without cgroupsPath and without
// linux.resources, and run in a private mount namespace (the script re-execs itself under
// `unshare -m --propagation private`) with cgroup2 mounted at /sys/fs/cgroup, because crun
// refuses hybrid v1/v2 hosts.
// - crun: --cgroup-manager=disabled, it creates no cgroup.
// - lk-run: without cgroupsPath and resources it creates no cgroup (its behaviour on a node).
// - runc: has no way to switch cgroups off; it creates /sys/fs/cgroup/<id> for each
//   container and removes it on exit. That cost stays in its figure.
// Capabilities are given without an ambient set (lk-run refuses ambient capabilities that
// are not inheritable; crun and runc skip them silently), no seccomp profile.
// Each runtime gets its own --root state directory in a temp dir; the temp dir, any
// leftover runc cgroups and the cgroup2 mount are removed on exit, also on failure.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const repo = join(dirname(self), '..', '..');
const INNER = 'LK_BENCH_LAUNCHER_INNER';
const CGROUP_ROOT = '/sys/fs/cgroup';
const BUSYBOX = '/bin/busybox';

function die(message) {
  console.error(`bench/launcher: ${message}`);
  process.exit(1);
}

function wholeNumber(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) die(`${name} must be a whole number, not "${text}"`);
  return n;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.LK_BENCH_RUNS ?? '200' },
    block: { type: 'string', default: process.env.LK_BENCH_BLOCK ?? '1' },
    warmup: { type: 'string', default: process.env.LK_BENCH_WARMUP ?? '10' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node bench/launcher/run.mjs [--runs N] [--block B] [--warmup W]   (as root)');
  process.exit(0);
}
const runs = wholeNumber('--runs', values.runs);
const block = Math.max(1, wholeNumber('--block', values.block));
const warmup = wholeNumber('--warmup', values.warmup);
if (runs < 1) die('--runs must be at least 1');

/** Absolute path of a program in PATH, or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = join(dir || '.', name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Outer process: checks, build, temp dir, re-exec in a private mount namespace.
// ---------------------------------------------------------------------------
async function outer() {
  if (process.getuid() !== 0) die('run as root: the runtimes create namespaces and mounts');
  const missing = [];
  const tools = {};
  for (const [tool, pkg] of [
    ['crun', 'crun'],
    ['runc', 'runc'],
    ['unshare', 'util-linux'],
  ]) {
    tools[tool] = which(tool);
    if (!tools[tool]) missing.push(`${tool} (Debian package ${pkg})`);
  }
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (Debian package busybox-static)`);
  if (missing.length) die(`missing: ${missing.join(', ')}; install them, e.g. apt-get install -y crun runc busybox-static`);

  const dir = mkdtempSync(join(tmpdir(), 'lk-bench-launcher-'));
  chmodSync(dir, 0o755);
  let status = 1;
  try {
    let lkRun = process.env.LK_RUN;
    if (lkRun) {
      if (!existsSync(lkRun)) throw new Error(`LK_RUN=${lkRun}: no such file`);
    } else {
      // A private build: the shared init/build/out is left to `make -C init`.
      const src = join(repo, 'lk-run');
      const out = join(dir, 'build');
      const r = spawnSync('make', ['-s', '-C', src, `OUT=${out}`], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.error || r.status !== 0) throw new Error(`building lk-run failed (make -C ${src}); set LK_RUN to use a prebuilt binary`);
      lkRun = join(out, 'lk-run');
    }
    status = await new Promise((resolve) => {
      const child = spawn(tools.unshare, ['-m', '--propagation', 'private', process.execPath, self, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, [INNER]: dir, LK_RUN: lkRun, LK_BENCH_CRUN: tools.crun, LK_BENCH_RUNC: tools.runc },
      });
      // The child stops at the next container and cleans up; unshare passes signals on
      // by being replaced by node (it execs), so the child is that process.
      const forward = (sig) => child.kill(sig);
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward);
      child.on('error', (e) => {
        console.error(`bench/launcher: ${tools.unshare}: ${e.message}`);
        resolve(1);
      });
      child.on('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 0)));
    });
  } catch (e) {
    console.error(`bench/launcher: ${e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(status);
}

// ---------------------------------------------------------------------------
// Inner process: in its own mount namespace.
// ---------------------------------------------------------------------------
const applets = ['sh', 'true', 'echo', 'cat'];

function makeRootfs(dir) {
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of applets) symlinkSync('busybox', join(dir, 'bin', applet));
}

/** The one config.json all three run: close to `runc spec`, minus network/cgroup namespaces. */
function config(rootfs, args) {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'bench',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

function makeBundle(dir, rootfs, args) {
  // runc wants root.path to be no symlink: both bundles name the one rootfs by absolute path.
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config(rootfs, args), null, 2));
  return dir;
}

async function inner(dir) {
  const lkRun = process.env.LK_RUN;
  const crunPath = process.env.LK_BENCH_CRUN;
  const runcPath = process.env.LK_BENCH_RUNC;
  const prefix = `lkbench-${process.pid}`;
  let mounted = false;

  const runtimes = [
    { name: 'lk-run', argv: (root, bundle, id) => [lkRun, '--root', root, 'run', '--bundle', bundle, id] },
    { name: 'crun', argv: (root, bundle, id) => [crunPath, '--root', root, '--cgroup-manager=disabled', 'run', '--bundle', bundle, id] },
    { name: 'runc', argv: (root, bundle, id) => [runcPath, '--root', root, 'run', '--bundle', bundle, id] },
  ];

  const cleanup = () => {
    // runc removes its cgroup when the container exits; one killed halfway may leave one.
    if (mounted) {
      try {
        for (const name of readdirSync(CGROUP_ROOT)) {
          if (!name.startsWith(prefix)) continue;
          // A killed container's processes take a moment to leave it.
          for (let i = 0; i < 50; i++) {
            try {
              rmdirSync(join(CGROUP_ROOT, name));
              break;
            } catch {
              spawnSync('sleep', ['0.02']);
            }
          }
        }
      } catch {
        /* nothing to clean */
      }
      spawnSync('umount', [CGROUP_ROOT], { stdio: 'ignore' });
      mounted = false;
    }
    rmSync(join(dir, 'work'), { recursive: true, force: true });
  };
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(sig, () => {
      interrupted = true;
    });

  try {
    const m = spawnSync('mount', ['-t', 'cgroup2', 'cgroup2', CGROUP_ROOT], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount -t cgroup2 on ${CGROUP_ROOT}: ${(m.stderr || m.error?.message || '').trim()}`);
    mounted = true;

    const work = join(dir, 'work');
    mkdirSync(work);
    const rootfs = join(work, 'rootfs');
    makeRootfs(rootfs);
    const benchBundle = makeBundle(join(work, 'bundle-true'), rootfs, ['/bin/true']);
    const checkBundle = makeBundle(join(work, 'bundle-check'), rootfs, ['/bin/sh', '-c', 'echo ok']);
    for (const rt of runtimes) {
      rt.root = join(work, `state-${rt.name}`);
      mkdirSync(rt.root);
      rt.times = [];
    }

    let serial = 0;
    const runOne = (rt, bundle) => {
      const id = `${prefix}-${rt.name}-${++serial}`;
      const [cmd, ...args] = rt.argv(rt.root, bundle, id);
      const start = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.error) throw new Error(`${rt.name}: ${cmd}: ${r.error.message}`);
      if (r.status !== 0) {
        const how = r.status === null ? `signal ${r.signal}` : `status ${r.status}`;
        throw new Error(
          `${rt.name} run ${id} exited with ${how}\n  command: ${[cmd, ...args].join(' ')}\n  stderr: ${r.stderr.trim() || '(empty)'}`,
        );
      }
      return { ms, stdout: r.stdout };
    };

    // Each runtime must really run a container before we time it.
    for (const rt of runtimes) {
      const { stdout } = runOne(rt, checkBundle);
      if (stdout !== 'ok\n') throw new Error(`${rt.name}: check container printed ${JSON.stringify(stdout)}, expected "ok\\n"`);
    }
    for (let i = 0; i < warmup; i++) {
      for (const rt of runtimes) runOne(rt, benchBundle);
      await new Promise(setImmediate);
    }

    // Baseline: the harness's own cost of spawning and waiting for a program.
    const baseline = [];
    const spawnBaseline = () => {
      const start = process.hrtime.bigint();
      const r = spawnSync(BUSYBOX, ['true'], { stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`${BUSYBOX} true failed`);
      baseline.push(Number(process.hrtime.bigint() - start) / 1e6);
    };

    // Rounds of `block` containers per runtime; the order rotates every round.
    let round = 0;
    while (runtimes[0].times.length < runs) {
      const n = Math.min(block, runs - runtimes[0].times.length);
      for (let k = 0; k < runtimes.length; k++) {
        const rt = runtimes[(round + k) % runtimes.length];
        for (let i = 0; i < n; i++) {
          // Signal handlers only run when the event loop turns; spawnSync never lets it.
          await new Promise(setImmediate);
          if (interrupted) throw new Error('interrupted');
          rt.times.push(runOne(rt, benchBundle).ms);
        }
      }
      spawnBaseline();
      round++;
    }

    const stats = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
      return {
        median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2,
        mean: s.reduce((a, b) => a + b, 0) / s.length,
        p10: q(0.1),
        p90: q(0.9),
      };
    };
    const f = (x) => x.toFixed(2).padStart(7);
    const version = (cmd) => (spawnSync(cmd, ['--version'], { encoding: 'utf8' }).stdout || '?').split('\n')[0];
    console.log(`lk-run (${statSync(lkRun).size} bytes), ${version(crunPath)}, ${version(runcPath)}`);
    console.log(`${runs} containers per runtime (/bin/true; pid, mount, ipc, uts namespaces), block ${block}, warmup ${warmup}`);
    console.log(`runtime   median ms    mean ms     p10 ms     p90 ms`);
    for (const rt of runtimes) {
      rt.stats = stats(rt.times);
      console.log(`${rt.name.padEnd(8)} ${f(rt.stats.median)}    ${f(rt.stats.mean)}    ${f(rt.stats.p10)}    ${f(rt.stats.p90)}`);
    }
    const b = stats(baseline);
    console.log(
      `(spawning ${BUSYBOX} true without a runtime: median ${b.median.toFixed(2)} ms, mean ${b.mean.toFixed(2)} ms; included in all figures above)`,
    );
    console.log(
      `(medians minus that baseline: ${runtimes.map((rt) => `${rt.name} ${(rt.stats.median - b.median).toFixed(2)} ms`).join(', ')})`,
    );
    const [lk, crun, runc] = runtimes.map((rt) => rt.stats.median);
    console.log(`lk-run/crun ${(lk / crun).toFixed(3)}`);
    console.log(`lk-run/runc ${(lk / runc).toFixed(3)}`);
    return 0;
  } catch (e) {
    console.error(`bench/launcher: ${e.message}`);
    return 1;
  } finally {
    cleanup();
  }
}

if (process.env[INNER]) process.exit(await inner(process.env[INNER]));
else await outer();
