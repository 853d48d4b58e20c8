import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { fatEpoch, fatGeometry } from '../../src/formats/fat.js';
import { formatNames, formatWriter } from '../../src/formats/index.js';
import { isoUuidDate } from '../../src/formats/iso.js';
import { parseMbr } from '../../src/formats/mbr.js';
import { syslinuxConfig } from '../../src/formats/syslinux.js';
import { FsTree } from '../../src/fs/tree.js';
import type { AssembledNode } from '../../src/assemble/node.js';

const kernelBytes = Buffer.alloc(300_000, 0x4b);
const node = {
  tree: new FsTree(),
  kernel: { size: kernelBytes.length, open: () => Readable.from([kernelBytes]) },
  cmdline: 'console=ttyS0  quiet\n',
} as unknown as AssembledNode;

const dirs: string[] = [];
async function write(format: string, name: string, epoch = 1_700_000_000): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bios-formats-'));
  dirs.push(dir);
  const outputs = new AtomicOutputs();
  await formatWriter(format)({ node, base: join(dir, name), sourceDateEpoch: epoch, outputs });
  await outputs.commit();
  return dir;
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('BIOS and ISO format helpers', () => {
  test('registered', () => {
    expect(formatNames).toEqual(expect.arrayContaining(['iso-bios', 'raw-bios', 'iso-efi']));
  });

  test('syslinux config: one entry, no prompt, the cmdline on one line', () => {
    expect(syslinuxConfig('console=ttyS0  quiet\n')).toBe(
      'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  LINUX /kernel\n  INITRD /initrd.img\n  APPEND console=ttyS0 quiet\n',
    );
  });

  test('dates: xorriso uuid in GMT; FAT clamped to 1980..2107 and even seconds', () => {
    expect(isoUuidDate(0)).toBe('1970010100000000');
    expect(isoUuidDate(1_700_000_000)).toBe('2023111422132000');
    expect(fatEpoch(0)).toBe(315532800);
    expect(fatEpoch(1_700_000_001)).toBe(1_700_000_000);
    expect(fatEpoch(5_000_000_000)).toBe(4354819198);
  });

  test('FAT geometry: whole MiB, at least 8, FAT16 cluster count kept below 65525', () => {
    expect(fatGeometry(0)).toEqual({ sizeKiB: 8192, fatBits: 16, sectorsPerCluster: 1 });
    expect(fatGeometry(40 * 1024 * 1024)).toEqual({ sizeKiB: 44 * 1024, fatBits: 16, sectorsPerCluster: 2 });
    expect(fatGeometry(3000 * 1024 * 1024).fatBits).toBe(32);
  });
});

describe('format writers (host tools: xorriso, isolinux, syslinux, mtools, dosfstools, systemd-boot-efi)', () => {
  for (const [format, file] of [
    ['iso-bios', 'n.iso'],
    ['raw-bios', 'n-bios.img'],
    ['iso-efi', 'n-efi.iso'],
  ] as const) {
    test(`${format}: only ${file}, the same bytes from two builds (epoch 0 and another), other bytes for another epoch`, async () => {
      for (const epoch of [0, 1_700_000_000]) {
        const a = await write(format, 'n', epoch);
        await new Promise((r) => setTimeout(r, 1100)); // a clock that leaks in would show
        const b = await write(format, 'n', epoch);
        expect(await readdir(a)).toEqual([file]);
        expect(await sha(join(a, file)), `epoch ${epoch}`).toBe(await sha(join(b, file)));
      }
      const [x, y] = [await write(format, 'n', 1_700_000_000), await write(format, 'n', 1_800_000_000)];
      expect(await sha(join(x, file))).not.toBe(await sha(join(y, file)));
    });
  }

  test('raw-bios: the MBR partition is bootable FAT16 at 1 MiB and ends at the end of the disk', async () => {
    const dir = await write('raw-bios', 'n');
    const disk = await readFile(join(dir, 'n-bios.img'));
    const t = parseMbr(disk.subarray(0, 512));
    expect(t.diskSignature).toBe(0x4c4b4231);
    expect(t.partitions).toEqual([{ bootable: true, type: 0x0e, startLba: 2048, sectors: disk.length / 512 - 2048 }]);
    // FAT16 boot sector at the partition start: hidden sectors = its LBA, serial, label, syslinux's boot code.
    const bs = disk.subarray(2048 * 512, 2049 * 512);
    expect(bs.readUInt32LE(28)).toBe(2048);
    expect(bs.readUInt32LE(39)).toBe(0x4c4b4231);
    expect(bs.toString('latin1', 43, 54)).toBe('LKBUILD    ');
    expect(bs.toString('latin1', 54, 62)).toBe('FAT16   ');
    expect(bs.includes(Buffer.from('SYSLINUX'))).toBe(true);
  });

  test('a missing tool names the Debian package to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = await mkdtemp(join(tmpdir(), 'empty-path-'));
    dirs.push(process.env.PATH);
    try {
      await expect(write('raw-bios', 'n')).rejects.toMatchObject({
        message: 'the raw-bios format needs mkfs.vfat, which is not installed',
        hint: 'install the Debian package dosfstools on the build host',
      });
      await expect(write('iso-bios', 'n')).rejects.toMatchObject({
        message: 'the iso-bios format needs xorriso, which is not installed',
        hint: 'install the Debian package xorriso on the build host',
      });
      // qemu-img is looked for before the raw disk is made, not after.
      await expect(write('vhd', 'n')).rejects.toMatchObject({
        message: 'the vhd format needs qemu-img, which is not installed',
        hint: 'install the Debian package qemu-utils on the build host',
      });
    } finally {
      process.env.PATH = path;
    }
  });
});
