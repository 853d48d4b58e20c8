import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { readUkiCmdline } from '../builder/src/run/qemu.js';
import { lkbuild } from './harness.js';
import { SNAKEOIL_CERT, snakeoilKey } from '../builder/test/helpers/test-keys.js';

/**
 * kernel+squashfs and --verity through the real `lkbuild build` CLI (the recipes from the shared
 * cache, as the boot tests build them), checked with third-party tools. No boot: that needs the
 * init's and the kernel's side of the root-image contract (dm-verity, squashfs, overlayfs).
 */
const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');
const file = join(repo, 'qemu-tests/cases/formats-efi/node.yml');

// SOURCE_DATE_EPOCH in the squashfs (mkfs and file times): builder/test/formats/squashfs-formats.test.ts
// (here another epoch would rebuild every recipe, the kernel included).
async function build(args: string[]): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'lk-verity-build-'));
  const r = await execa('node', [cli, 'build', '-o', out, '-n', 'node', ...args, file], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`lkbuild build failed (${r.exitCode}):\n${r.all}`);
  return out;
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('kernel+squashfs --verity and raw-efi --verity from the CLI', () => {
  const formats = ['-f', 'kernel+squashfs', '-f', 'raw-efi', '--verity'];
  let first = '';
  let second = '';
  beforeAll(async () => {
    first = await build(formats);
    second = await build(formats);
  }, 600_000);

  test('writes the four kernel+squashfs files, the disk and the SBOM', async () => {
    expect((await readdir(first)).sort()).toEqual([
      'node-cmdline',
      'node-efi.img',
      'node-initrd.img',
      'node-kernel',
      'node-squashfs.img',
      'node.spdx.json',
    ]);
    const cmdline = await readFile(join(first, 'node-cmdline'), 'utf8');
    expect(cmdline).toMatch(/^console=ttyS0 lk\.poweroff=ready lk\.root=\/dev\/vda lk\.verity=(\d+),\1,[0-9a-f]{64},[0-9a-f]{64}$/);
  });

  test('the squashfs holds the node (init, bundles) and veritysetup accepts its tree', async () => {
    const img = join(first, 'node-squashfs.img');
    const list = (await execa('unsquashfs', ['-lln', '-d', '', img])).stdout;
    expect(list).toMatch(/^-rwxr-xr-x 0\/0 +\d+ .* \/init$/m);
    expect(list).toMatch(/^-rw-r--r-- 0\/0 +\d+ .* \/containers\/onboot\/000-hello\/config\.json$/m);
    expect(list).toMatch(/^crw------- 0\/0 +5, +1 .* \/dev\/console$/m);
    const [, n, , root, salt] = /lk\.verity=(\d+),(\d+),(\w+),(\w+)/.exec(await readFile(join(first, 'node-cmdline'), 'utf8'))!;
    const r = await execa(
      'veritysetup',
      ['verify', img, img, root!, `--hash-offset=${Number(n) * 4096}`, '--no-superblock', '--salt', salt!, '--data-blocks', n!],
      { reject: false, all: true },
    );
    expect(r.exitCode, r.all).toBe(0);
  });

  test('the disk carries the root partition', async () => {
    const p = (await execa('sgdisk', ['-p', join(first, 'node-efi.img')])).stdout;
    expect(p).toMatch(/^\s+2\s+\d+\s+\d+\s+.*8300\s+lkbuild root$/m);
  });

  test('a second build is byte-identical', async () => {
    for (const f of await readdir(first)) expect(await sha(join(second, f)), f).toBe(await sha(join(first, f)));
  });
});

describe('--verity with --sign-key', () => {
  test('the aws and qcow2 disks carry one signed UKI whose command line names the root partition and its hash; sbverify accepts it', async () => {
    const key = await snakeoilKey(join(await mkdtemp(join(tmpdir(), 'lk-verity-key-')), 'snakeoil.key'));
    const cert = SNAKEOIL_CERT;
    const dir = await build(['-f', 'aws', '-f', 'qcow2', '--verity', '--sign-key', key, '--sign-cert', cert]);
    const disk = join(dir, 'node.raw');
    const uki = join(dir, 'aws.efi');
    await execa('mcopy', ['-n', '-i', `${disk}@@1M`, '::EFI/BOOT/BOOTX64.EFI', uki]);
    expect((await execa('sbverify', ['--cert', cert, uki], { reject: false })).exitCode).toBe(0);
    const cmdline = await readUkiCmdline(uki);
    const uuid = /lk\.root=PARTUUID=([0-9a-f-]{36}) lk\.verity=\d+,\d+,[0-9a-f]{64},[0-9a-f]{64}$/.exec(cmdline)?.[1];
    expect(uuid, cmdline).toBeDefined();
    expect((await execa('sgdisk', ['-i', '2', disk])).stdout).toContain(`Partition unique GUID: ${uuid!.toUpperCase()}`);
    // qcow2 is the same raw disk converted: the same UKI, the same root partition.
    const raw = join(dir, 'qcow2.raw');
    await execa('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', join(dir, 'node.qcow2'), raw]);
    await execa('mcopy', ['-n', '-i', `${raw}@@1M`, '::EFI/BOOT/BOOTX64.EFI', join(dir, 'qcow2.efi')]);
    expect(await sha(join(dir, 'qcow2.efi'))).toBe(await sha(uki));
  }, 600_000);
});

describe('usage errors', () => {
  test('--verity on a format without a root image: exit 2, naming the format', async () => {
    const r = await lkbuild(['build', '-f', 'iso-bios', '--verity', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--verity does not apply to the iso-bios format/);
  });

  test('kernel+initrd and kernel+squashfs in one build: exit 2, naming both', async () => {
    const r = await lkbuild(['build', '-f', 'kernel+initrd', '-f', 'kernel+squashfs', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/the kernel\+initrd and kernel\+squashfs formats both write NAME-kernel/);
  });
});
