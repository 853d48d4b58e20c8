import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { DATA_READONLY, PeChecksum, appendSections, parsePe, peChecksum } from '../../src/formats/pe.js';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

/**
 * A minimal PE32+ image: DOS header, PE header, optional header with 16 data directories, the
 * given number of sections of 0x200 bytes each at 0x1000-aligned addresses, headers of `headers` bytes.
 */
function tinyPe(sections: number, headers = 0x200): Buffer {
  const peOff = 0x40;
  const opt = peOff + 24;
  const table = opt + 240;
  const b = Buffer.alloc(headers + sections * 0x200);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(peOff, 0x3c);
  b.write('PE\0\0', peOff, 'latin1');
  b.writeUInt16LE(0x8664, peOff + 4);
  b.writeUInt16LE(sections, peOff + 6);
  b.writeUInt32LE(0x12345678, peOff + 8);
  b.writeUInt16LE(240, peOff + 20);
  b.writeUInt16LE(0x20b, opt);
  b.writeUInt32LE(0x1000, opt + 32); // section alignment
  b.writeUInt32LE(0x200, opt + 36); // file alignment
  b.writeUInt32LE(0x1000 * (sections + 1), opt + 56);
  b.writeUInt32LE(headers, opt + 60);
  b.writeUInt16LE(10, opt + 68); // EFI application
  b.writeUInt32LE(16, opt + 108);
  for (let i = 0; i < sections; i++) {
    const o = table + 40 * i;
    b.write(`.s${i}`, o, 'latin1');
    b.writeUInt32LE(0x100, o + 8);
    b.writeUInt32LE(0x1000 * (i + 1), o + 12);
    b.writeUInt32LE(0x200, o + 16);
    b.writeUInt32LE(headers + 0x200 * i, o + 20);
    b.writeUInt32LE(0x60000020, o + 36);
    b.fill(0x11 * (i + 1), headers + 0x200 * i, headers + 0x200 * i + 0x100);
  }
  return b;
}

/** The whole file appendSections lays out, with `data` for the new sections and the checksum filled in. */
function assemble(stub: Buffer, data: Buffer[], timestamp: number): Buffer {
  const layout = appendSections(
    stub,
    data.map((d, i) => ({ name: ['.osrel', '.cmdline', '.linux', '.initrd'][i]!, size: d.length })),
    timestamp,
  );
  const out = Buffer.alloc(layout.fileSize);
  layout.prefix.copy(out);
  layout.sections.forEach((s, i) => data[i]!.copy(out, s.pointerToRawData));
  out.writeUInt32LE(peChecksum(out), layout.checksumOffset);
  return out;
}

describe('PE checksum', () => {
  test("matches the checksum systemd's build stored in the stub", async () => {
    const stub = await readFile(STUB);
    const pe = parsePe(stub);
    expect(pe.checksum).not.toBe(0);
    expect(peChecksum(stub)).toBe(pe.checksum);
  });

  test('fed in pieces of any length, including odd ones and zero runs, it equals the whole', () => {
    const data = Buffer.alloc(10001);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    data.fill(0, 3000, 3501);
    const whole = new PeChecksum().update(data).digest();
    const pieces = new PeChecksum().update(data.subarray(0, 1)).update(data.subarray(1, 2998)).update(data.subarray(2998, 3000));
    pieces.zeros(501).update(data.subarray(3501, 7777)).update(data.subarray(7777));
    expect(pieces.digest()).toBe(whole);
    // The length counts: 4 more zero bytes add 4.
    expect(new PeChecksum().update(data).zeros(4).digest()).toBe(whole + 4);
  });
});

describe('appending UKI sections', () => {
  const data = [Buffer.from('ID=test\n'), Buffer.from('console=ttyS0'), Buffer.alloc(0x3001, 0xaa), Buffer.alloc(0x12345, 0x55)];

  test('to a small PE: page-aligned, non-overlapping, file-aligned, headers updated', () => {
    const stub = tinyPe(2);
    const layout = appendSections(
      stub,
      data.map((d, i) => ({ name: `.n${i}`, size: d.length })),
      1700000000,
    );
    const pe = parsePe(layout.prefix);
    expect(pe.sections.map((s) => s.name)).toEqual(['.s0', '.s1', '.n0', '.n1', '.n2', '.n3']);
    expect(pe.timestamp).toBe(1700000000);
    expect(pe.checksum).toBe(0);
    // The stub's last section ends at 0x2100: the new ones start on the next pages.
    expect(pe.sections.slice(2).map((s) => s.virtualAddress)).toEqual([0x3000, 0x4000, 0x5000, 0x9000]);
    expect(pe.sections.slice(2).map((s) => s.virtualSize)).toEqual([8, 13, 0x3001, 0x12345]);
    expect(pe.sections.slice(2).map((s) => s.sizeOfRawData)).toEqual([0x200, 0x200, 0x3200, 0x12400]);
    // The headers grew from 0x200 to 0x400 to fit six section headers; the stub's sections moved with them.
    expect(pe.sizeOfHeaders).toBe(0x400);
    expect(pe.sections.map((s) => s.pointerToRawData)).toEqual([0x400, 0x600, 0x800, 0xa00, 0xc00, 0x3e00]);
    expect(layout.prefix.subarray(0x400, 0x500).every((b) => b === 0x11)).toBe(true);
    expect(layout.prefix.subarray(0x600, 0x700).every((b) => b === 0x22)).toBe(true);
    expect(pe.sizeOfImage).toBe(0x1c000); // 0x9000 + 0x12345, rounded up to the section alignment
    expect(layout.fileSize).toBe(0x3e00 + 0x12400);
    expect(pe.sections.slice(2).every((s) => s.characteristics === DATA_READONLY)).toBe(true);
  });

  test('refuses a signed stub', () => {
    const stub = tinyPe(1);
    stub.writeUInt32LE(0x4000, 0x40 + 24 + 112 + 8 * 4);
    stub.writeUInt32LE(0x100, 0x40 + 24 + 112 + 8 * 4 + 4);
    expect(() => appendSections(stub, [{ name: '.linux', size: 1 }], 0)).toThrow(/already signed/);
  });

  test("to systemd's stub: objdump reads the sections where we put them, the checksum verifies", async () => {
    const stub = await readFile(STUB);
    const before = parsePe(stub);
    const out = assemble(stub, data, 1700000000);
    const pe = parsePe(out);
    expect(pe.sections.length).toBe(before.sections.length + 4);
    expect(pe.sizeOfHeaders).toBe(before.sizeOfHeaders); // room was left in the stub's header
    const stubEnd = Math.max(...before.sections.map((s) => s.virtualAddress + s.virtualSize));
    const added = pe.sections.slice(before.sections.length);
    let end = stubEnd;
    for (const s of added) {
      expect(s.virtualAddress % 4096).toBe(0);
      expect(s.virtualAddress).toBeGreaterThanOrEqual(end);
      expect(s.pointerToRawData % before.fileAlignment).toBe(0);
      end = s.virtualAddress + s.virtualSize;
    }
    expect(peChecksum(out)).toBe(pe.checksum);
    // The stub's own sections are untouched, byte for byte.
    for (const s of before.sections) {
      expect(out.subarray(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData)).toEqual(
        stub.subarray(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData),
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'lk-pe-'));
    try {
      await writeFile(join(dir, 'x.efi'), out);
      const { stdout } = await execa('objdump', ['-h', join(dir, 'x.efi')]);
      for (const [i, s] of added.entries()) {
        const row = new RegExp(
          `\\s${['.osrel', '.cmdline', '.linux', '.initrd'][i]!.replace('.', '\\.')}\\s+0*${data[i]!.length.toString(16)}\\s+0*${s.virtualAddress.toString(16)}\\s+0*${s.virtualAddress.toString(16)}\\s+0*${s.pointerToRawData.toString(16)}\\s`,
        );
        expect(stdout).toMatch(row);
      }
      const { stdout: dump } = await execa('objdump', ['-s', '-j', '.cmdline', join(dir, 'x.efi')]);
      expect(dump).toContain('console=ttyS0');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Reproducible: the same inputs give the same bytes; another timestamp changes only the header.
    expect(assemble(stub, data, 1700000000)).toEqual(out);
    const other = assemble(stub, data, 1700000001);
    expect(parsePe(other).timestamp).toBe(1700000001);
    expect(parsePe(other).checksum).not.toBe(pe.checksum);
  });
});
