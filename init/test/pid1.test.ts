// The real init binary as PID 1 of a fresh PID/mount/UTS/net namespace,
// chrooted into a small root whose /usr/bin/lk-run is a shell script that
// runs the bundle's run.sh. This exercises the whole init (mounts, onboot,
// services, supervision, reaping, lkctl over its socket, shutdown and
// reboot(2)) without a kernel or containers. Needs root and busybox-static.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const initDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUSYBOX = '/bin/busybox';

const FAKE_LK_RUN = `#!/bin/sh
# usage: lk-run run --bundle DIR ID
echo "lk-run $4"
exec /bin/sh "$3/run.sh"
`;

let workDir: string;

beforeAll(() => {
  const make = spawnSync('make', ['-s', '-C', initDir], { encoding: 'utf8' });
  expect(make.status, make.stderr).toBe(0);
  workDir = mkdtempSync(join(tmpdir(), 'lk-init-test-'));
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface BundleSpec {
  script: string;
  runtime?: object;
}

function makeRoot(name: string, bundles: Record<string, BundleSpec>): string {
  const root = join(workDir, name);
  for (const d of ['bin', 'usr/bin', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(join(initDir, 'build/out/init'), join(root, 'init'));
  chmodSync(join(root, 'init'), 0o755);
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'sleep', 'cat', 'echo']) symlinkSync('busybox', join(root, 'bin', applet));
  symlinkSync('/init', join(root, 'usr/bin/lkctl'));
  writeFileSync(join(root, 'usr/bin/lk-run'), FAKE_LK_RUN, { mode: 0o755 });
  writeFileSync(join(root, 'etc/hostname'), 'pid1-test\n');
  for (const [path, spec] of Object.entries(bundles)) {
    const dir = join(root, 'containers', path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.sh'), spec.script);
    writeFileSync(join(dir, 'config.json'), '{}');
    if (spec.runtime) writeFileSync(join(dir, 'runtime.json'), JSON.stringify(spec.runtime));
  }
  return root;
}

const UNSHARE_ARGS = ['--pid', '--mount', '--uts', '--net', '--ipc', '--fork', '--kill-child', '--propagation', 'private'];

function bootInit(root: string, args: string[]): { out: string; signal: NodeJS.Signals | null; status: number | null } {
  const r = spawnSync('unshare', [...UNSHARE_ARGS, 'chroot', root, '/init', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 64 << 20,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  return { out: r.stdout + r.stderr, signal: r.signal, status: r.status };
}

function markerLines(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('lk-init: '));
}

describe('init as PID 1', () => {
  it('boots, runs onboot and services, and powers off when ready', () => {
    const root = makeRoot('poweroff', {
      'onboot/000-first': { script: 'echo first-output\nexit 3\n' },
      'onboot/001-second': { script: 'echo second-output\n' },
      'services/svc': { script: "trap 'echo svc-term; exit 0' TERM\necho svc-up\nwhile :; do sleep 1; done\n" },
      'onshutdown/000-bye': { script: 'echo bye-output\n' },
    });
    const { out, status, signal } = bootInit(root, ['lk.poweroff=ready', 'lk.shutdown-grace=3000']);
    const markers = markerLines(out).map(
      (l) =>
        l
          .replace(/uptime=\d+\.\d{3}\b/, 'uptime=T')
          .replace(/pid=\d+/, 'pid=P')
          .replace('code=143', 'code=0'), // SIGTERM may land before the trap is set
    );
    expect(markers).toEqual([
      'lk-init: start uptime=T',
      'lk-init: onboot first exit=3 uptime=T',
      'lk-init: onboot second exit=0 uptime=T',
      'lk-init: service svc started pid=P uptime=T',
      'lk-init: ready uptime=T',
      'lk-init: shutdown uptime=T',
      'lk-init: onshutdown bye exit=0 uptime=T',
      'lk-init: service svc exited code=0 restart-in=never',
    ]);
    // onboot output goes to the console; service output does not without lk.console-logs
    expect(out).toContain('first-output');
    expect(out).toContain('bye-output');
    expect(out).not.toContain('svc-up');
    // reboot(RB_POWER_OFF) in a PID namespace ends its init with SIGINT
    expect(signal === 'SIGINT' || status === 128 + 2).toBe(true);
  });

  it('supervises with backoff, serves lkctl and reboots on request', () => {
    const ctl = [
      'sleep 1',
      'lkctl ls',
      'lkctl logs svc',
      'lkctl stop svc',
      'lkctl ls',
      'lkctl nonsense; echo nonsense-exit=$?',
      'cat /var/log/onboot.first.log',
      'lkctl logs -f ticker | while read l; do echo "followed: $l"; done &',
      'sleep 3',
      'busybox grep " /mnt/extra tmpfs" /proc/mounts && echo runtime-mount-ok',
      'test -d /var/lib/made && echo runtime-mkdir-ok',
      'test -f /var/log/noisy.log.1 && echo log-rotated-ok',
      'lkctl reboot',
    ].join('\n');
    const root = makeRoot('lkctl', {
      'onboot/000-first': { script: 'echo first-output\n' },
      'services/svc': { script: "trap 'exit 0' TERM\necho svc-up\nwhile :; do sleep 1; done\n", runtime: { restart: 'always' } },
      'services/crash': { script: 'exit 4\n', runtime: { restart: 'on-failure' } },
      'services/ctl': { script: ctl + '\n', runtime: { restart: 'never', depends: ['svc'] } },
      'services/noisy': { script: 'busybox yes | busybox head -c 5000000 >/dev/stderr\n', runtime: { restart: 'never' } },
      'services/ticker': {
        script: 'while :; do echo tick; sleep 1; done\n',
        runtime: {
          mkdir: ['/var/lib/made'],
          mounts: [{ type: 'tmpfs', source: 'tmpfs', destination: '/mnt/extra', options: ['nosuid', 'size=1m'] }],
        },
      },
    });
    const { out, signal, status } = bootInit(root, ['lk.console-logs', 'lk.shutdown-grace=3000']);
    expect(out).toMatch(/lk-init: service crash exited code=4 restart-in=100\n/);
    expect(out).toMatch(/lk-init: service crash exited code=4 restart-in=200\n/);
    expect(out).toMatch(/NAME +STATE +PID +RESTARTS +UPTIME +LAST-EXIT\ncrash .*\nnoisy .*\nsvc +running +\d+ +0 +\d+s +-\n/);
    expect(out).toMatch(/svc +stopped +- +0 +- +0\n/);
    expect(out).toContain('lk-init: service svc exited code=0 restart-in=never');
    expect(out).toContain('lkctl: unknown command nonsense');
    expect(out).toContain('nonsense-exit=2');
    expect(out).toMatch(/svc-up\n[\s\S]*svc-up\n/); // console and `lkctl logs`
    expect(out).toContain('first-output\nlk-init: onboot');
    expect(out).toContain('lk-init: shutdown uptime=');
    expect(out.match(/followed: tick/g)?.length).toBeGreaterThanOrEqual(3); // history + live
    expect(out).toContain('runtime-mount-ok');
    expect(out).toContain('runtime-mkdir-ok');
    expect(out).toContain('log-rotated-ok');
    // svc starts before ctl, which depends on it
    expect(out.indexOf('service svc started')).toBeLessThan(out.indexOf('service ctl started'));
    // reboot(RB_AUTOBOOT) in a PID namespace ends its init with SIGHUP
    expect(signal === 'SIGHUP' || status === 128 + 1).toBe(true);
  });

  it('an exception in a boot step is logged and the boot carries on (lk.test-throw)', () => {
    const root = makeRoot('throws', {
      'onboot/000-first': { script: 'echo first-output\n' },
      'onboot/001-second': { script: 'echo second-must-not-run\n' },
      'onboot/002-third': { script: 'echo third-output\n' },
      'services/a': { script: "trap 'exit 0' TERM\nwhile :; do sleep 1; done\n" },
      'services/b': { script: 'echo b-must-not-run\n' },
      'services/c': { script: 'trap \'exit 0\' TERM\nlkctl ls | while read l; do echo "ls: $l"; done\nwhile :; do sleep 1; done\n' },
    });
    const { out, status, signal } = bootInit(root, [
      'lk.console-logs',
      'lk.poweroff=ready+2',
      'lk.shutdown-grace=3000',
      'lk.test-throw=hostname,onboot:second,service:b',
    ]);
    for (const what of ['hostname', 'service:b'])
      expect(out).toContain(`lk-init: error in ${what}: lk.test-throw: ${what} fails on purpose`);
    expect(out).toContain('lk-init: onboot second: lk.test-throw: onboot:second fails on purpose');
    expect(out).toMatch(/lk-init: onboot second exit=255 [\s\S]*lk-init: onboot third exit=0 /);
    expect(out).toContain('third-output');
    expect(out).not.toContain('must-not-run');
    expect(out).toMatch(/lk-init: service a started[\s\S]*lk-init: service c started[\s\S]*lk-init: ready /);
    expect(out).not.toContain('service b started');
    expect(out).toMatch(/ls: c +running/); // lkctl is served
    expect(out).toContain('lk-init: shutdown uptime=');
    expect(signal === 'SIGINT' || status === 128 + 2).toBe(true);
  });

  it.each([
    ['SIGTERM', 'SIGINT'], // poweroff
    ['SIGINT', 'SIGHUP'], // ctrl-alt-del: reboot
  ] as const)(
    'shuts down on %s from outside',
    async (sent, ending) => {
      const root = makeRoot(`signal-${sent}`, {
        'services/svc': { script: "trap 'echo svc-term; exit 0' TERM\necho svc-up\nwhile :; do sleep 1; done\n" },
      });
      const child = spawn('unshare', [...UNSHARE_ARGS, 'chroot', root, '/init', 'lk.console-logs', 'lk.shutdown-grace=3000'], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      let out = '';
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const ready = new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          out += d.toString();
          if (out.includes('svc-up')) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await ready;
      // The init is unshare's only child; signal it from the parent namespace.
      const initPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
      process.kill(initPid, sent);
      const signal = await ended;
      clearTimeout(timer);
      expect(out).toContain('lk-init: shutdown uptime=');
      expect(out).toContain('svc-term');
      expect(out).toContain('lk-init: service svc exited code=0 restart-in=never');
      expect(signal).toBe(ending);
    },
    30_000,
  );
});
