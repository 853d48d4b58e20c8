import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, bootQemuArgs, buildCase } from './harness.js';
import { expectHelloBoot } from './format-checks.js';

/**
 * The tar formats from the real CLI: built twice to compare bytes, read back with GNU tar and
 * cpio, and booted under QEMU: gcp's disk.raw with OVMF as a disk, tar-kernel-initrd's kernel
 * and initrd with -kernel/-initrd/-append.
 */
const FORMATS = ['gcp', 'tar-kernel-initrd', 'tar', 'kernel+initrd'];
const MiB = 1024 * 1024;

const files = (base: string) => ({
  gcp: `${base}.img.tar.gz`,
  'tar-kernel-initrd': `${base}-initrd.tar`,
  tar: `${base}.tar`,
  initrd: `${base}-initrd.img`,
  kernel: `${base}-kernel`,
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** `tar -tv` with numeric owners, UTC times and runs of spaces collapsed. */
async function tarTv(path: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['--numeric-owner', '--full-time', '-tvf', path], { env: { TZ: 'UTC', LC_ALL: 'C' } });
  return stdout.split('\n').map((l) => l.replace(/ +/g, ' '));
}

describe('tar formats', () => {
  let first: ReturnType<typeof files>;
  let second: ReturnType<typeof files>;
  let work = '';

  beforeAll(async () => {
    first = files(await buildCase('formats-tar', FORMATS));
    second = files(await buildCase('formats-tar', FORMATS));
    work = await mkdtemp(join(tmpdir(), 'lk-formats-tar-'));
    await execa('tar', ['-xzf', first.gcp, '-C', work]);
    await execa('mkdir', [join(work, 'tki')]);
    await execa('tar', ['-xf', first['tar-kernel-initrd'], '-C', join(work, 'tki')]);
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('written, with their sizes; a second build gives byte-identical files', async () => {
    const sizes: Record<string, number> = {};
    for (const [f, path] of Object.entries(first)) sizes[f] = (await stat(path)).size;
    console.log('tar format sizes (bytes):', JSON.stringify(sizes));
    for (const f of ['gcp', 'tar-kernel-initrd', 'tar'] as const) expect(await sha256(second[f]), f).toBe(await sha256(first[f]));
  });

  test('gcp: a gzip (no name, mtime 0) of a tar holding only disk.raw, a 1 GiB GPT disk', async () => {
    const gz = await readFile(first.gcp);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    const lines = await tarTv(first.gcp);
    expect(lines).toHaveLength(1);
    const raw = (await stat(join(work, 'disk.raw'))).size;
    expect(lines[0]).toBe(`-rw-r--r-- 0/0 ${raw} 1970-01-01 00:00:00 disk.raw`); // SOURCE_DATE_EPOCH unset: 0
    expect(raw).toBe(1024 * MiB); // GCE imports whole GiB
    const v = await execa('sgdisk', ['-v', join(work, 'disk.raw')]);
    expect(v.stdout).toContain('No problems found');
  });

  test("tar-kernel-initrd: LinuxKit's kernel, initrd.img, cmdline; the same bytes as kernel+initrd", async () => {
    const lines = await tarTv(first['tar-kernel-initrd']);
    expect(lines.map((l) => l.replace(/ \d+ 1970/, ' N 1970'))).toEqual([
      '-rw-r--r-- 0/0 N 1970-01-01 00:00:00 kernel',
      '-rw-r--r-- 0/0 N 1970-01-01 00:00:00 initrd.img',
      '-rw-r--r-- 0/0 N 1970-01-01 00:00:00 cmdline',
    ]);
    expect(await sha256(join(work, 'tki/kernel'))).toBe(await sha256(first.kernel));
    expect(await sha256(join(work, 'tki/initrd.img'))).toBe(await sha256(first.initrd));
    expect(await readFile(join(work, 'tki/cmdline'), 'utf8')).toBe('console=ttyS0 lk.poweroff=ready');
  });

  test("tar: the initrd's file set, with the device node, symlinks, modes and owners", async () => {
    const { stdout } = await execa('sh', ['-c', `gzip -dc '${first.initrd}' | cpio -it --quiet`]);
    const cpioNames = stdout.split('\n').sort();
    const tarNames = (await execa('tar', ['-tf', first.tar])).stdout
      .split('\n')
      .map((s) => s.replace(/\/$/, ''))
      .sort();
    expect(cpioNames.length).toBeGreaterThan(100);
    expect(tarNames).toEqual(cpioNames);
    const lines = await tarTv(first.tar);
    expect(lines).toContain('crw------- 0/0 5,1 1970-01-01 00:00:00 dev/console');
    expect(lines.find((l) => / init$/.test(l))).toMatch(/^-rwxr-xr-x 0\/0 [1-9]\d* 1970-01-01 00:00:00 init$/);
    expect(lines.filter((l) => l.startsWith('l')).length).toBeGreaterThan(0);
    console.log(
      'tar entry types:',
      JSON.stringify(Object.fromEntries(['-', 'd', 'l', 'h', 'c', 'b', 'p'].map((t) => [t, lines.filter((l) => l.startsWith(t)).length]))),
    );
  });

  test('gcp: disk.raw boots under OVMF: the init is ready and the onboot container ran', async () => {
    const r = await boot(join(work, 'disk.raw'), { append: '', timeoutMs: 240_000 });
    expectHelloBoot(r);
    expect(r.output).toMatch(/^\[\s*[\d.]+\] efi: EFI v/m);
    expect(r.output).toContain('Command line: console=ttyS0 lk.poweroff=ready');
    expect(r.output).toMatch(/tar-onboot-marker pid=1\b/);
  }, 260_000);

  test('tar-kernel-initrd: its kernel and initrd boot with -kernel/-initrd and its cmdline', async () => {
    const d = join(work, 'tki');
    const cmdline = await readFile(join(d, 'cmdline'), 'utf8');
    const r = await bootQemuArgs(['-kernel', join(d, 'kernel'), '-initrd', join(d, 'initrd.img'), '-append', cmdline], {
      timeoutMs: 240_000,
    });
    expectHelloBoot(r);
    expect(r.output).toContain('Command line: console=ttyS0 lk.poweroff=ready');
    expect(r.output).toMatch(/tar-onboot-marker pid=1\b/);
  }, 260_000);
});
