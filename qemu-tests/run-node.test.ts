// Boot tests of `lkbuild run qemu` itself: a published port reached from the host, a disk that
// persists across runs, user data on the cidata seed, the IMDSv2 emulation, --networking none,
// --detached with `run stop`, and the usage errors of bad option values.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, cli, lkbuild, markers, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';
import { SNAKEOIL_CERT, snakeoilKey } from '../builder/test/helpers/test-keys.js';

const USER_NET_IP = 'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off';
const IMDS_NET_IP = 'ip=169.254.0.15::169.254.0.2:255.255.0.0::eth0:off';
const MiB = 1024 * 1024;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

async function sha256Head(path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, 0);
    return createHash('sha256').update(buf).digest('hex');
  } finally {
    await fh.close();
  }
}

/**
 * GETs `url` with a real HTTP client, retrying failed connections for up to 90 s: the service
 * is started when the init says ready, but may not listen yet (slow on a loaded TCG host).
 */
async function httpGet(url: string): Promise<{ status: number; body: string } | { error: string }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      return { status: r.status, body: await r.text() };
    } catch (e) {
      if (Date.now() > deadline) return { error: `${String(e)} (${String((e as Error).cause ?? '')})` };
      await sleep(500);
    }
  }
}

/** DISK lines of the probe: device, sectors, sha256 of the first MiB. */
function disks(output: string): Array<{ dev: string; sectors: number; sha: string }> {
  return tagged(output, 'DISK').map((l) => {
    const [, dev, sectors, sha] = /^(\S+) sectors=(\d+) sha=([0-9a-f]{64})$/.exec(l)!;
    return { dev: dev!, sectors: Number(sectors), sha: sha! };
  });
}

describe('run qemu: published port, persistent disk, user data, networking none', () => {
  let base: string;
  let work: string;
  let diskFile: string;
  let port: number;
  let first: BootResult;
  let second: BootResult;
  let http: { status: number; body: string } | { error: string };
  let stop: Awaited<ReturnType<typeof lkbuild>>;
  const userData = `#cloud-config\n# lkbuild run-node test ${Date.now()}\nhostname: seeded\n`;

  beforeAll(async () => {
    base = await buildCase('run-node');
    work = await mkdtemp(join(tmpdir(), 'lk-run-node-'));
    diskFile = join(work, 'data.img');
    await writeFile(join(work, 'user-data'), userData);
    port = await freePort();
    const state = join(work, 'state');
    let asked = false;
    let done: Promise<void> = Promise.resolve();
    // Run 1: the node stays up; once it is ready the host fetches the page, then stops the node.
    first = await boot(base, {
      state,
      append: `${USER_NET_IP} lk.test-disk=write`,
      args: ['--publish', `127.0.0.1:${port}:8080`, '--disk', `${diskFile},size=8M`, '--data-file', join(work, 'user-data')],
      timeoutMs: 240_000,
      onOutput: (out) => {
        if (asked || !out.includes('lk-init: ready')) return;
        asked = true;
        done = (async () => {
          http = await httpGet(`http://127.0.0.1:${port}/index.html`);
          stop = await lkbuild(['run', 'stop', state], { timeoutMs: 120_000 });
        })();
      },
    });
    await done;
    // Run 2: the same disk (no size: it exists), no network, no user data.
    second = await boot(base, { state, args: ['--networking', 'none', '--disk', diskFile], timeoutMs: 240_000 });
  }, 600_000);

  test("a published port reaches the node's web service from the host", () => {
    expect(http).toEqual({ status: 200, body: 'hello from the node\n' });
  });

  test('run stop powers the running node off: both commands exit 0', () => {
    expect(first.timedOut, first.output).toBe(false);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(first.exitCode, first.output).toBe(0);
    expect(markers(first.output).map((m) => m.event)).toContain('shutdown');
  });

  test('the disk is created at its size on run 1 and read back with the same bytes on run 2', async () => {
    expect((await stat(diskFile)).size).toBe(8 * MiB);
    const hostSha = await sha256Head(diskFile, MiB);
    expect(hostSha).not.toBe(createHash('sha256').update(Buffer.alloc(MiB)).digest('hex')); // the node wrote it
    const [w] = disks(first.output);
    expect(w).toEqual({ dev: '/dev/vda', sectors: (8 * MiB) / 512, sha: hostSha });
    expect(disks(second.output)).toEqual([{ dev: '/dev/vda', sectors: (8 * MiB) / 512, sha: hostSha }]);
  });

  test("--data-file is on the cidata seed: user-data as given, meta-data with the state's instance id", async () => {
    expect(tagged(first.output, 'SEED')).toEqual(['/dev/vdb findfs=/dev/vdb']);
    expect(tagged(first.output, 'USERDATA').join('\n')).toBe(userData.trimEnd());
    const id = (await readFile(join(work, 'state', 'instance-id'), 'utf8')).trim();
    expect(id).toMatch(/^iid-[0-9a-f]{16}$/);
    expect(tagged(first.output, 'METADATA')).toEqual([`instance-id: ${id}`, 'local-hostname: run-node']);
    // xorriso, reading the seed as any ISO9660 reader would, finds the cidata label.
    const pvd = await execa('xorriso', ['-indev', join(work, 'state', 'seed.iso'), '-pvd_info']);
    expect(pvd.stdout).toMatch(/^Volume Id\s*: cidata$/m);
  });

  test('with --networking none the node has only lo; with the default it has a virtio NIC too', () => {
    expect(tagged(second.output, 'NETIF')).toEqual(['lo driver=none']);
    expect(tagged(first.output, 'NETIF')).toEqual(['eth0 driver=virtio_net', 'lo driver=none']);
    expect(second.exitCode, second.output).toBe(0);
    expect(tagged(second.output, 'SEED')).toEqual([]);
  });
});

describe('run qemu --detached --imds, then run stop', () => {
  let base: string;
  let state: string;
  let started: Awaited<ReturnType<typeof lkbuild>>;
  let console: string;
  let stopped: Awaited<ReturnType<typeof lkbuild>>;
  let pid: number;
  const userData = `{"from":"imds","at":${Date.now()}}`;

  beforeAll(async () => {
    base = await buildCase('run-node');
    const work = await mkdtemp(join(tmpdir(), 'lk-run-imds-'));
    state = join(work, 'state');
    await writeFile(join(work, 'imds-user-data'), userData);
    started = await lkbuild([
      'run',
      'qemu',
      '--detached',
      '--mem',
      '512',
      '--state',
      state,
      '--imds',
      join(work, 'imds-user-data'),
      '--append',
      `${IMDS_NET_IP} lk.test-imds`,
      base,
    ]);
    pid = Number((await readFile(join(state, 'qemu.pid'), 'utf8').catch(() => '0')).trim());
    const deadline = Date.now() + 240_000;
    do {
      await sleep(1000);
      console = (await readFile(join(state, 'console.log'), 'utf8').catch(() => '')).replace(/\r/g, '');
    } while (!console.includes('lk-init: ready') && Date.now() < deadline);
    stopped = await lkbuild(['run', 'stop', state], { timeoutMs: 120_000 });
    console = (await readFile(join(state, 'console.log'), 'utf8')).replace(/\r/g, '');
  }, 600_000);

  test('--detached returns 0 while the node runs in the background', () => {
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toContain(`lkbuild run stop ${state}`);
    expect(pid).toBeGreaterThan(0);
    expect(console).toContain('lk-init: ready');
  });

  test('IMDSv2: 401 without a token or with a forged one; the token flow returns the user data', () => {
    expect(tagged(console, 'IMDS no-token')).toEqual(['rc=1 wget: server returned error: HTTP/1.1 401 Unauthorized']);
    expect(tagged(console, 'IMDS bad-token')).toEqual(['rc=1 wget: server returned error: HTTP/1.1 401 Unauthorized']);
    expect(Number(tagged(console, 'IMDS token')[0]?.replace('length=', ''))).toBeGreaterThan(20);
    expect(tagged(console, 'IMDS user-data').join('\n')).toBe(userData);
    expect(tagged(console, 'IMDS instance-id')[0]).toMatch(/^i-[0-9a-f]{17}$/);
  });

  test('run stop powers the node off and returns 0; QEMU is gone', () => {
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(markers(console).map((m) => m.event)).toContain('shutdown');
    // through the ACPI power button, not the ctrl-alt-del that follows 2 s later
    const pressed = console.indexOf('lk-init: power button pressed');
    expect(pressed).toBeGreaterThan(0);
    expect(pressed).toBeLessThan(console.indexOf('lk-init: shutdown'));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  test('run stop of a state directory where nothing runs fails', async () => {
    const again = await lkbuild(['run', 'stop', state]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`no node runs in ${state}`);
  });
});

describe('run qemu: bad option values are usage errors (exit 2) naming the option, before anything is written', () => {
  let base: string;
  let work: string;
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    base = await buildCase('run-node');
    work = await mkdtemp(join(tmpdir(), 'lk-run-bad-'));
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
    await writeFile(join(work, 'big.img'), Buffer.alloc(8 * MiB, 7));
    await writeFile(join(work, 'node-bios.img'), Buffer.alloc(MiB));
    return () => new Promise<void>((r) => busy.close(() => r()));
  }, 600_000);

  const cases: Array<[string, () => string[], RegExp]> = [
    ['a non-numeric --mem', () => ['--mem', 'lots', base], /^lkbuild: --mem: "lots" is not a size/],
    [
      'a published port in use',
      () => ['--publish', `127.0.0.1:${busyPort}:80`, base],
      /^lkbuild: --publish: .*port 127\.0\.0\.1:\d+ is already in use/,
    ],
    [
      'a disk size that cannot hold the existing file',
      () => ['--disk', `${join(work, 'big.img')},size=1M`, base],
      /^lkbuild: --disk: .*size=1048576 bytes cannot hold the existing .*big\.img \(8388608 bytes\)/,
    ],
    [
      '--secure-boot with a BIOS image',
      () => ['--secure-boot', join(work, 'node-bios.img')],
      /^lkbuild: --secure-boot: .*node-bios\.img boots with BIOS/,
    ],
    ['an unknown --networking', () => ['--networking', 'wifi', base], /^lkbuild: --networking: "wifi"/],
    [
      '--publish without user networking',
      () => ['--networking', 'none', '--publish', '8080:80', base],
      /^lkbuild: --publish: needs --networking user/,
    ],
    ['a malformed --publish', () => ['--publish', '80', base], /^lkbuild: --publish: "80" is not/],
    ['a --disk format QEMU cannot create', () => ['--disk', 'x.vhd,size=1G,format=vhd', base], /^lkbuild: --disk: .*format "vhd"/],
    ['a missing disk without a size', () => ['--disk', join(work, 'none.img'), base], /^lkbuild: --disk: .*does not exist; give size=SIZE/],
    [
      '--machine microvm with a disk image',
      () => ['--machine', 'microvm', join(work, 'node-bios.img')],
      /^lkbuild: --machine: microvm boots a kernel\+initrd build directly/,
    ],
    ['a non-numeric --timeout', () => ['--timeout', 'soon', base], /^lkbuild: --timeout: "soon"/],
    ['--cpus 0', () => ['--cpus', '0', base], /^lkbuild: --cpus: 0 is out of range/],
  ];
  for (const [what, args, message] of cases) {
    test(what, async () => {
      const state = join(work, `state-${what.replace(/\W+/g, '-')}`);
      const r = await lkbuild(['run', 'qemu', '--state', state, ...args()]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(state)).toBe(false); // nothing written
    });
  }

  test('the existing disk is left as it was', async () => {
    expect(await sha256Head(join(work, 'big.img'), 8 * MiB)).toBe(
      createHash('sha256')
        .update(Buffer.alloc(8 * MiB, 7))
        .digest('hex'),
    );
  });
});

describe('run qemu: --machine microvm, --uefi, --bios, --secure-boot', () => {
  let microvm: BootResult;
  let uefi: BootResult;
  let bios: BootResult;
  let signed: BootResult;
  let unsigned: BootResult;

  beforeAll(async () => {
    const base = await buildCase('run-node');
    const work = await mkdtemp(join(tmpdir(), 'lk-run-fw-'));
    microvm = await boot(base, {
      append: `${USER_NET_IP} lk.poweroff=ready lk.shutdown-grace=1000`,
      args: ['--machine', 'microvm', '--disk', 'size=4M', '--data', 'microvm-seed'],
      timeoutMs: 180_000,
    });
    uefi = await boot(base, {
      append: 'lk.poweroff=ready lk.shutdown-grace=1000',
      args: ['--uefi', '--networking', 'none'],
      timeoutMs: 240_000,
    });
    // The aws disk boots with OVMF by default; --bios boots it with SeaBIOS (syslinux in its MBR).
    bios = await boot(`${await buildCase('formats-aws', ['aws'])}.raw`, {
      append: '',
      args: ['--bios', '--networking', 'none'],
      timeoutMs: 240_000,
    });
    // formats-efi's command line has lk.poweroff=ready: under Secure Boot the stub takes no other.
    const uki = `${await buildCase('formats-efi', ['uki'])}.efi`;
    const key = await snakeoilKey(join(work, 'snakeoil.key'));
    await execa('sbsign', ['--key', key, '--cert', SNAKEOIL_CERT, '--output', join(work, 'signed.efi'), uki]);
    signed = await boot(join(work, 'signed.efi'), { append: '', args: ['--secure-boot', '--networking', 'none'], timeoutMs: 240_000 });
    // OVMF refuses it within seconds; the timeout is what this boot checks (exit 124), so it is short.
    unsigned = await boot(uki, { append: '', args: ['--secure-boot', '--networking', 'none'], timeoutMs: 60_000 });
  }, 900_000);

  test('microvm boots kernel+initrd with virtio-mmio NIC, disk and seed, and no PCI at all', () => {
    expect(microvm.exitCode, microvm.output).toBe(0);
    expect(markers(microvm.output).map((m) => m.event)).toContain('ready');
    expect(tagged(microvm.output, 'PCI')).toEqual(['devices=0']);
    expect(tagged(microvm.output, 'NETIF')).toEqual(['eth0 driver=virtio_net', 'lo driver=none']);
    expect(disks(microvm.output).map((d) => [d.dev, d.sectors])).toEqual([['/dev/vda', (4 * MiB) / 512]]);
    expect(tagged(microvm.output, 'SEED')).toEqual(['/dev/vdb findfs=/dev/vdb']);
    expect(tagged(microvm.output, 'USERDATA')).toEqual(['microvm-seed']);
  });

  test('--uefi boots a kernel+initrd build through OVMF', () => {
    expect(uefi.exitCode, uefi.output).toBe(0);
    expect(uefi.output).toMatch(/^\[\s*[\d.]+\] efi: EFI v/m);
    expect(tagged(uefi.output, 'PCI')[0]).toMatch(/^devices=[1-9]/);
    expect(markers(uefi.output).map((m) => m.event)).toContain('ready');
  });

  test('--bios boots the aws disk (made for both) with SeaBIOS instead of OVMF', () => {
    expect(bios.exitCode, bios.output).toBe(0);
    // The kernel's built-in words (kernel-config/90-percpu.config) come first, then syslinux's mark.
    expect(bios.output).toContain('formats-aws-onboot-marker cmdline=percpu_alloc=page,BOOT_IMAGE=/kernel,');
    expect(bios.output).not.toMatch(/^\[\s*[\d.]+\] efi: EFI v/m);
    expect(markers(bios.output).map((m) => m.event)).toContain('ready');
  });

  test('--secure-boot: a UKI signed with the enrolled snakeoil key boots with Secure Boot on', () => {
    expect(signed.exitCode, signed.output).toBe(0);
    expect(signed.output).toContain('secureboot: Secure boot enabled');
    expect(markers(signed.output).map((m) => m.event)).toContain('ready');
  });

  test('--secure-boot: the unsigned UKI is refused by the firmware', () => {
    expect(unsigned.exitCode).toBe(124); // nothing boots: --timeout ends it
    expect(unsigned.output).toContain('No bootable option or device was found');
    expect(unsigned.output).not.toContain('lk-init: start');
  });
});

describe('run qemu: the console through a reader that lags', () => {
  test('every byte reaches stdout, the same as the console log, however slowly stdout is read', async () => {
    // QEMU's UART writes a byte at a time; written straight into a Unix socket (what Node gives a
    // child) a few hundred of them fill it and QEMU drops the rest. Here stdout is read 100 ms late
    // after every chunk: the kernel's boot log, printed all at once when the console starts, must
    // still arrive whole.
    const base = await buildCase('run-node');
    const state = await mkdtemp(join(tmpdir(), 'lk-slow-reader-'));
    const child = spawn(
      'node',
      [cli, 'run', 'qemu', '--networking', 'none', '--state', state, '--timeout', '240', '--append', 'lk.poweroff=ready', base],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 100);
    });
    child.stderr.resume();
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, out).toBe(0);
    const log = await readFile(join(state, 'console.log'), 'latin1');
    expect(log).toContain('lk-init: ready');
    expect(out.length).toBeGreaterThan(10_000);
    expect(out).toBe(log);
  }, 300_000);
});

describe('run qemu: exit status', () => {
  let interrupted: BootResult;
  let panicked: BootResult;

  beforeAll(async () => {
    const base = await buildCase('run-node');
    let sent = false;
    // Ctrl-C (SIGINT to lkbuild) once the node is up: it powers the node off cleanly.
    interrupted = await boot(base, {
      append: 'lk.shutdown-grace=1000',
      args: ['--networking', 'none'],
      timeoutMs: 180_000,
      onOutput: (out, signal) => {
        if (!sent && out.includes('lk-init: ready')) {
          sent = true;
          signal('SIGINT');
        }
      },
    });
    // No init to run: the kernel panics, pvpanic tells QEMU.
    panicked = await boot(base, {
      append: 'rdinit=/no-such-init init=/no-such-init panic=0',
      args: ['--networking', 'none'],
      timeoutMs: 120_000,
    });
  }, 400_000);

  test('ctrl-c stops the node through its orderly shutdown; lkbuild exits 130', () => {
    expect(interrupted.exitCode, interrupted.output).toBe(130);
    expect(interrupted.output).toContain('SIGINT: powering the node off');
    const shutdownAt = interrupted.output.indexOf('lk-init: shutdown');
    expect(shutdownAt).toBeGreaterThan(interrupted.output.indexOf('lk-init: ready'));
    expect(interrupted.output).toMatch(/reboot: (Restarting system|Power down)/);
  });

  test('a guest kernel panic is a non-zero exit', () => {
    expect(panicked.timedOut, panicked.output).toBe(false);
    expect(panicked.output).toContain('Kernel panic');
    expect(panicked.exitCode).toBe(1);
    expect(panicked.output).toContain('QEMU exited with status 1');
  });
});

// tap networking needs a tap device on the host, which root can make: a /30 link that only this
// host and the node share (nothing is reachable from outside).
describe.skipIf(process.getuid?.() !== 0)('run qemu --networking tap,IFACE', () => {
  const tap = `lkt${process.pid % 100000}`;
  let result: BootResult;
  let http: { status: number; body: string } | { error: string };

  beforeAll(async () => {
    const base = await buildCase('run-node');
    await execa('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    try {
      await execa('ip', ['addr', 'add', '192.168.213.1/30', 'dev', tap]);
      await execa('ip', ['link', 'set', tap, 'up']);
      let asked = false;
      let done: Promise<void> = Promise.resolve();
      const state = join(await mkdtemp(join(tmpdir(), 'lk-run-tap-')), 'state');
      result = await boot(base, {
        state,
        append: 'ip=192.168.213.2::192.168.213.1:255.255.255.252::eth0:off lk.shutdown-grace=1000',
        args: ['--networking', `tap,${tap}`],
        timeoutMs: 180_000,
        onOutput: (out) => {
          if (asked || !out.includes('lk-init: ready')) return;
          asked = true;
          done = (async () => {
            http = await httpGet('http://192.168.213.2:8080/index.html');
            await lkbuild(['run', 'stop', state], { timeoutMs: 120_000 });
          })();
        },
      });
      await done;
    } finally {
      await execa('ip', ['link', 'del', tap], { reject: false });
    }
  }, 300_000);

  test("the node's NIC is on the host's tap device: the host reaches its web service directly", () => {
    expect(result.exitCode, result.output).toBe(0);
    expect(tagged(result.output, 'NETIF')).toEqual(['eth0 driver=virtio_net', 'lo driver=none']);
    expect(http).toEqual({ status: 200, body: 'hello from the node\n' });
  });
});
