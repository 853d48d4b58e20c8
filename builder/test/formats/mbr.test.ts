import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { chs, mbr, parseMbr } from '../../src/formats/mbr.js';

describe('MBR', () => {
  const code = Buffer.alloc(440, 0xfa);
  const table = mbr({
    bootCode: code,
    diskSignature: 0x4c4b4231,
    partitions: [{ bootable: true, type: 0x0e, startLba: 2048, sectors: 16384 }],
  });

  test('layout: boot code, disk signature, one entry, 0x55aa', () => {
    expect(table.length).toBe(512);
    expect(table.subarray(0, 440)).toEqual(code);
    expect(table.readUInt32LE(440)).toBe(0x4c4b4231);
    expect(table.readUInt16LE(444)).toBe(0);
    // entry 1: active, CHS 0/32/33, type 0x0e, CHS of sector 18431 (cylinder 1, head 37, sector 36), LBA 2048, 16384 sectors
    expect([...table.subarray(446, 462)]).toEqual([0x80, 0x20, 0x21, 0x00, 0x0e, 0x25, 0x24, 0x01, 0x00, 0x08, 0, 0, 0x00, 0x40, 0, 0]);
    expect(table.subarray(462, 510).every((b) => b === 0)).toBe(true);
    expect([table[510], table[511]]).toEqual([0x55, 0xaa]);
  });

  test('parses back', () => {
    expect(parseMbr(table)).toEqual({
      diskSignature: 0x4c4b4231,
      partitions: [{ bootable: true, type: 0x0e, startLba: 2048, sectors: 16384 }],
    });
  });

  test('CHS: cylinder bits 8-9 go in the sector byte; beyond cylinder 1023 the maximum', () => {
    expect(chs(0)).toEqual([0, 1, 0]);
    expect(chs(63)).toEqual([1, 1, 0]);
    expect(chs(256 * 255 * 63)).toEqual([0, 0x41, 0]); // cylinder 256
    expect(chs(1023 * 255 * 63 + 254 * 63 + 62)).toEqual([254, 0xff, 0xff]);
    expect(chs(1024 * 255 * 63)).toEqual([0xfe, 0xff, 0xff]);
  });

  test('rejects what an MBR cannot hold', () => {
    const p = { bootable: false, type: 0x83, startLba: 2048, sectors: 10 };
    expect(() => mbr({ bootCode: Buffer.alloc(441), diskSignature: 1, partitions: [] })).toThrow(/440/);
    expect(() => mbr({ diskSignature: 1, partitions: [p, p, p, p, p] })).toThrow(/at most 4/);
    expect(() => mbr({ diskSignature: 1, partitions: [p, { ...p, startLba: 2050 }] })).toThrow(/overlap/);
    expect(() =>
      mbr({
        diskSignature: 1,
        partitions: [
          { ...p, bootable: true },
          { ...p, startLba: 4096, bootable: true },
        ],
      }),
    ).toThrow(/one MBR partition/);
    expect(() => mbr({ diskSignature: 1, partitions: [{ ...p, startLba: 0 }] })).toThrow(/positive/);
    expect(() => mbr({ diskSignature: 1, partitions: [{ ...p, startLba: 0xffff_ff00, sectors: 0x200 }] })).toThrow(/2 TiB/);
    expect(() => mbr({ diskSignature: 1, partitions: [{ ...p, type: 0x100 }] })).toThrow(/type/);
  });

  test('sfdisk reads the table as written (fdisk package)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mbr-'));
    try {
      const disk = join(dir, 'disk.img');
      const two = mbr({
        diskSignature: 0xdeadbeef,
        partitions: [
          { bootable: false, type: 0x83, startLba: 2048, sectors: 2048 },
          { bootable: true, type: 0x0c, startLba: 4096, sectors: 4096 },
        ],
      });
      await writeFile(disk, Buffer.concat([two, Buffer.alloc(8192 * 512 - 512)]));
      const { stdout } = await execa('sfdisk', ['-d', disk]);
      expect(stdout).toContain('label: dos');
      expect(stdout).toContain('label-id: 0xdeadbeef');
      const parts = stdout.split('\n').filter((l) => l.startsWith(disk));
      expect(parts.map((l) => l.slice(disk.length).replace(/\s+/g, ' '))).toEqual([
        '1 : start= 2048, size= 2048, type=83',
        '2 : start= 4096, size= 4096, type=c, bootable',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
