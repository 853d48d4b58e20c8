import { describe, expect, test } from 'vitest';
import { efiDiskLayout, espSizeMiB } from '../../src/formats/raw-efi.js';
import { fixVhdFooter, fixVmdkCid } from '../../src/formats/vm-disks.js';

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
  test('the CID is replaced in place, nothing else moves', () => {
    const text = '# Disk DescriptorFile\nversion=1\nCID=5b153a06\nparentCID=ffffffff\ncreateType="monolithicSparse"\n';
    const head = Buffer.alloc(1024);
    head.write(text, 512, 'latin1');
    expect(fixVmdkCid(head, '0badc0de')).toBe(true);
    expect(head.toString('latin1', 512, 512 + text.length)).toBe(text.replace('5b153a06', '0badc0de'));
    expect(fixVmdkCid(Buffer.from('no descriptor'), '0badc0de')).toBe(false);
  });

  test('a CID qemu-img printed without leading zeros grows into the padding', () => {
    const text = '# Disk DescriptorFile\nversion=1\nCID=3a06\nparentCID=ffffffff\ncreateType="monolithicSparse"\n';
    const head = Buffer.alloc(1024);
    head.write(text, 512, 'latin1');
    expect(fixVmdkCid(head, '0badc0de')).toBe(true);
    const fixed = text.replace('CID=3a06', 'CID=0badc0de');
    expect(head.toString('latin1', 512, 512 + fixed.length)).toBe(fixed);
    expect(head.subarray(512 + fixed.length).every((b) => b === 0)).toBe(true);
    // No padding left to grow into: refused rather than cut.
    const full = Buffer.from(`x\nCID=3a06\nparentCID=ffffffff\n`, 'latin1');
    expect(fixVmdkCid(full, '0badc0de')).toBe(false);
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
