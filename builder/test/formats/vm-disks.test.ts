import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { efiDiskLayout, espSizeMiB } from '../../src/formats/raw-efi.js';
import { fixVhdFooter, fixVmdkDescriptor, vmdkDescriptorRange } from '../../src/formats/vm-disks.js';
import { withScratch } from '../../src/fs/scratch.js';

describe('VHD footer', () => {
  function footer(): Buffer {
    const f = Buffer.alloc(512);
    f.write('conectix', 0, 'latin1');
    f.writeUInt32BE(0x12345678, 24); // qemu-img's time
    f.fill(0xab, 68, 84); // qemu-img's random id
    f.writeUInt32BE(0xdeadbeef, 64);
    return f;
  }

  test('timestamp from SOURCE_DATE_EPOCH (seconds since 2000), our id, a valid checksum', () => {
    const f = footer();
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    fixVhdFooter(f, 1700000000, id);
    expect(f.readUInt32BE(24)).toBe(1700000000 - 946684800);
    expect(f.subarray(68, 84)).toEqual(id);
    const copy = Buffer.from(f);
    copy.writeUInt32BE(0, 64);
    let sum = 0;
    for (const b of copy) sum += b;
    expect(f.readUInt32BE(64)).toBe(~sum >>> 0);
    // Epochs before 2000 clamp to 0 rather than wrapping.
    fixVhdFooter(f, 0, id);
    expect(f.readUInt32BE(24)).toBe(0);
  });

  test('refuses what is not a footer', () => {
    expect(() => fixVhdFooter(Buffer.alloc(512), 0, Buffer.alloc(16))).toThrow(/not a VHD footer/);
  });
});

describe('VMDK descriptor', () => {
  const text = '# Disk DescriptorFile\nversion=1\nCID=5b153a06\nparentCID=ffffffff\ncreateType="monolithicSparse"\n';

  test('the CID is replaced, nothing else moves, the rest of the region is zeros', () => {
    const d = Buffer.alloc(1024);
    d.write(text, 'latin1');
    expect(fixVmdkDescriptor(d, '0badc0de')).toBe(true);
    const fixed = text.replace('5b153a06', '0badc0de');
    expect(d.toString('latin1', 0, fixed.length)).toBe(fixed);
    expect(d.subarray(fixed.length).every((b) => b === 0)).toBe(true);
    expect(fixVmdkDescriptor(Buffer.from('no descriptor'), '0badc0de')).toBe(false);
  });

  test('a short CID and the bytes qemu-img left after the NUL give the same region as a full one', () => {
    // Seen once in 256 conversions: CID=7062f8, and a stray newline after the terminating NUL.
    const short = Buffer.alloc(1024);
    short.write(`${text.replace('5b153a06', '7062f8')}\0\n`, 'latin1');
    const full = Buffer.alloc(1024);
    full.write(text, 'latin1');
    expect(fixVmdkDescriptor(short, '0badc0de')).toBe(true);
    expect(fixVmdkDescriptor(full, '0badc0de')).toBe(true);
    expect(short).toEqual(full);
  });

  test('no room for the longer CID and a NUL: refused rather than cut', () => {
    const d = Buffer.from('x\nCID=3a06\nparentCID=ffffffff\n', 'latin1');
    expect(fixVmdkDescriptor(d, '0badc0de')).toBe(false);
    expect(d.toString('latin1')).toBe('x\nCID=3a06\nparentCID=ffffffff\n');
  });

  test('the descriptor is found where the sparse header says (qemu-img: sector 1, 20 sectors)', async () => {
    await withScratch(async (dir) => {
      await execa('qemu-img', ['create', '-q', '-f', 'vmdk', join(dir, 'd.vmdk'), '1M']);
      const file = await readFile(join(dir, 'd.vmdk'));
      expect(vmdkDescriptorRange(file.subarray(0, 512))).toEqual([512, 20 * 512]);
      expect(file.toString('latin1', 512, 540)).toContain('# Disk DescriptorFile');
    });
    expect(vmdkDescriptorRange(Buffer.alloc(512))).toBeUndefined();
  });
});

describe('raw EFI disk layout', () => {
  test('the ESP is at least 40 MiB (FAT32 with 512-byte clusters) and grows with the UKI', () => {
    expect(espSizeMiB(1)).toBe(40);
    expect(espSizeMiB(100 * 1024 * 1024)).toBe(104); // 102 MiB of UKI and FATs, + 2
  });

  test('1 MiB of GPT before the ESP and 1 MiB after: a whole number of MiB', () => {
    const l = efiDiskLayout(40);
    expect(l).toEqual({ sectors: 42 * 2048, espFirstLba: 2048, espLastLba: 41 * 2048 - 1 });
    // The ESP ends before the backup GPT's 33 sectors.
    expect(l.espLastLba).toBeLessThan(l.sectors - 33);
  });
});
