import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ESP_TYPE_GUID, crc32, gptStructures, guidBytes, hashGuid, protectiveMbr } from '../../src/formats/gpt.js';

const DISK_GUID = '01234567-89AB-CDEF-0123-456789ABCDEF';
const PART_GUID = 'FEDCBA98-7654-3210-FEDC-BA9876543210';
// 8 MiB: the partition from 1 MiB up to the last usable sector.
const SECTORS = 16384;
const disk = {
  sectors: SECTORS,
  diskGuid: DISK_GUID,
  partitions: [{ typeGuid: ESP_TYPE_GUID, guid: PART_GUID, firstLba: 2048, lastLba: SECTORS - 34, name: 'EFI System Partition' }],
};

describe('GPT', () => {
  const gpt = gptStructures(disk);

  test('CRC-32 check value and GUID byte order', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    // The ESP type GUID as it appears on disk (UEFI spec: mixed endian).
    expect(guidBytes(ESP_TYPE_GUID).toString('hex')).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
  });

  test('hashGuid: deterministic, version 8, RFC 4122 variant, different parts differ', () => {
    const a = hashGuid('lkbuild disk', 'node', Buffer.from([1, 2, 3]));
    expect(hashGuid('lkbuild disk', 'node', Buffer.from([1, 2, 3]))).toBe(a);
    expect(a).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(hashGuid('lkbuild disk', 'node2', Buffer.from([1, 2, 3]))).not.toBe(a);
    // Parts are length-prefixed: moving a boundary changes the GUID.
    expect(hashGuid('ab', 'c')).not.toBe(hashGuid('a', 'bc'));
  });

  test('protective MBR: one 0xEE partition from LBA 1 over the rest of the disk', () => {
    const mbr = gpt.head.subarray(0, 512);
    expect(mbr[446 + 4]).toBe(0xee);
    expect(mbr.readUInt32LE(446 + 8)).toBe(1);
    expect(mbr.readUInt32LE(446 + 12)).toBe(SECTORS - 1);
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);
    expect(mbr.subarray(462, 510).every((b) => b === 0)).toBe(true);
    // Disks beyond 2 TiB: the size field saturates.
    expect(protectiveMbr(2 ** 33).readUInt32LE(446 + 12)).toBe(0xffffffff);
  });

  test('primary and backup headers: fields and CRCs', () => {
    expect(gpt.head.length).toBe(34 * 512);
    expect(gpt.tail.length).toBe(33 * 512);
    expect(gpt.firstUsableLba).toBe(34);
    expect(gpt.lastUsableLba).toBe(SECTORS - 34);
    const primary = gpt.head.subarray(512, 1024);
    const backup = gpt.tail.subarray(32 * 512);
    const entries = gpt.head.subarray(1024);
    expect(gpt.tail.subarray(0, 32 * 512)).toEqual(entries);
    for (const [h, my, alt, entriesLba] of [
      [primary, 1n, BigInt(SECTORS - 1), 2n],
      [backup, BigInt(SECTORS - 1), 1n, BigInt(SECTORS - 33)],
    ] as const) {
      expect(h.toString('latin1', 0, 8)).toBe('EFI PART');
      expect(h.readUInt32LE(8)).toBe(0x10000);
      expect(h.readUInt32LE(12)).toBe(92);
      expect(h.readBigUInt64LE(24)).toBe(my);
      expect(h.readBigUInt64LE(32)).toBe(alt);
      expect(h.readBigUInt64LE(40)).toBe(34n);
      expect(h.readBigUInt64LE(48)).toBe(BigInt(SECTORS - 34));
      expect(h.subarray(56, 72)).toEqual(guidBytes(DISK_GUID));
      expect(h.readBigUInt64LE(72)).toBe(entriesLba);
      expect(h.readUInt32LE(80)).toBe(128);
      expect(h.readUInt32LE(84)).toBe(128);
      expect(h.readUInt32LE(88)).toBe(crc32(entries));
      const copy = Buffer.from(h.subarray(0, 92));
      copy.writeUInt32LE(0, 16);
      expect(h.readUInt32LE(16)).toBe(crc32(copy));
      expect(h.subarray(92).every((b) => b === 0)).toBe(true);
    }
    // The two headers differ (my/alternate/entries LBA), so do their CRCs.
    expect(primary.readUInt32LE(16)).not.toBe(backup.readUInt32LE(16));
  });

  test('the entry: type, unique GUID, LBAs, UTF-16 name; the other 127 are empty', () => {
    const e = gpt.head.subarray(1024, 1024 + 128);
    expect(e.subarray(0, 16)).toEqual(guidBytes(ESP_TYPE_GUID));
    expect(e.subarray(16, 32).toString('hex')).toBe('98badcfe54761032fedcba9876543210');
    expect(e.readBigUInt64LE(32)).toBe(2048n);
    expect(e.readBigUInt64LE(40)).toBe(BigInt(SECTORS - 34));
    expect(e.readBigUInt64LE(48)).toBe(0n);
    expect(e.toString('utf16le', 56, 56 + 40)).toBe('EFI System Partition');
    expect(gpt.head.subarray(1024 + 128).every((b) => b === 0)).toBe(true);
  });

  test('partitions outside the usable sectors or overlapping are refused', () => {
    const p = disk.partitions[0]!;
    expect(() => gptStructures({ ...disk, partitions: [{ ...p, lastLba: SECTORS - 33 }] })).toThrow(/outside the usable/);
    expect(() => gptStructures({ ...disk, partitions: [{ ...p, firstLba: 33 }] })).toThrow(/outside the usable/);
    expect(() =>
      gptStructures({
        ...disk,
        partitions: [
          { ...p, lastLba: 4096 },
          { ...p, guid: DISK_GUID, firstLba: 4096, lastLba: 5000, name: 'b' },
        ],
      }),
    ).toThrow(/overlap/);
  });

  test('sgdisk reads the table back without problems', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-gpt-'));
    try {
      const img = join(dir, 'disk.img');
      const fh = await open(img, 'w');
      await fh.write(gpt.head, 0, gpt.head.length, 0);
      await fh.write(gpt.tail, 0, gpt.tail.length, (SECTORS - 33) * 512);
      await fh.close();
      const v = await execa('sgdisk', ['-v', img], { reject: false });
      expect(v.stdout).toContain('No problems found');
      const info = await execa('sgdisk', ['-i', '1', img]);
      expect(info.stdout).toContain(`Partition GUID code: ${ESP_TYPE_GUID} (EFI system partition)`);
      expect(info.stdout).toContain(`Partition unique GUID: ${PART_GUID}`);
      expect(info.stdout).toContain('First sector: 2048 ');
      expect(info.stdout).toContain(`Last sector: ${SECTORS - 34} `);
      expect(info.stdout).toContain("Partition name: 'EFI System Partition'");
      const p = await execa('sgdisk', ['-p', img]);
      expect(p.stdout).toContain(`Disk identifier (GUID): ${DISK_GUID}`);
      expect(`${v.stdout}\n${v.stderr}`).not.toMatch(/Invalid CRC|ERROR/);
      // A corrupted primary header is noticed: the check can fail.
      const bad = await open(img, 'r+');
      await bad.write(Buffer.from([0xff]), 0, 1, 512 + 40);
      await bad.close();
      const v2 = await execa('sgdisk', ['-v', img], { reject: false });
      expect(`${v2.stdout}\n${v2.stderr}`).toContain('Invalid CRC on main header');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
