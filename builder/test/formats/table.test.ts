// The table of output formats: what each declares, the lookups `run qemu` uses, and that every
// writer writes exactly the files its entry declares.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import {
  clashingFormats,
  formatWriter,
  identifyOutput,
  outputFormat,
  outputFormats,
  outputPaths,
  verityFormatNames,
} from '../../src/formats/index.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';
import type { AssembledNode } from '../../src/assemble/node.js';

// What the README promises for each format: its files (for the prefix "out/node"), the firmware
// that boots it and whether `run qemu --append` adds to its command line.
const promised: Record<string, { files: string[]; firmware: string; append: boolean }> = {
  'kernel+initrd': { files: ['node-kernel', 'node-initrd.img', 'node-cmdline'], firmware: 'direct-kernel', append: true },
  'kernel+squashfs': {
    files: ['node-kernel', 'node-initrd.img', 'node-squashfs.img', 'node-cmdline'],
    firmware: 'direct-kernel',
    append: true,
  },
  'iso-bios': { files: ['node.iso'], firmware: 'bios', append: false },
  'raw-bios': { files: ['node-bios.img'], firmware: 'bios', append: false },
  'iso-efi': { files: ['node-efi.iso'], firmware: 'uefi', append: false },
  uki: { files: ['node.efi'], firmware: 'uefi', append: true },
  'raw-efi': { files: ['node-efi.img'], firmware: 'uefi', append: false },
  qcow2: { files: ['node.qcow2'], firmware: 'uefi', append: false },
  vmdk: { files: ['node.vmdk'], firmware: 'uefi', append: false },
  vhd: { files: ['node.vhd'], firmware: 'uefi', append: false },
  aws: { files: ['node.raw'], firmware: 'bios+uefi', append: false },
  gcp: { files: ['node.img.tar.gz'], firmware: 'uefi', append: false },
  'tar-kernel-initrd': { files: ['node-initrd.tar'], firmware: 'direct-kernel', append: true },
  tar: { files: ['node.tar'], firmware: 'none', append: false },
};

describe('the format table', () => {
  test('declares the files, firmware and --append of every format', () => {
    expect(outputFormats.map((f) => f.name).sort()).toEqual(Object.keys(promised).sort());
    for (const f of outputFormats) {
      expect({ files: outputPaths(f, 'node'), firmware: f.firmware, append: f.append }, f.name).toEqual(promised[f.name]);
    }
  });

  test('--verity applies to kernel+squashfs and the disk formats that carry a UKI', () => {
    expect([...verityFormatNames].sort()).toEqual(['aws', 'gcp', 'kernel+squashfs', 'qcow2', 'raw-efi', 'vhd', 'vmdk']);
  });

  test('only kernel+initrd and kernel+squashfs share endings (a build may not ask for both); every role appears once per format', () => {
    const suffixes = outputFormats.filter((f) => f.name !== 'kernel+squashfs').flatMap((f) => f.files.map((x) => x.suffix));
    expect(new Set(suffixes).size).toBe(suffixes.length);
    for (const f of outputFormats) expect(new Set(f.files.map((x) => x.role)).size, f.name).toBe(f.files.length);
    const clash = clashingFormats(['kernel+initrd', 'uki', 'kernel+squashfs'].map(outputFormat));
    expect(clash && [clash[0].name, clash[1].name, clash[2]]).toEqual(['kernel+initrd', 'kernel+squashfs', '-kernel']);
    expect(clashingFormats(outputFormats.filter((f) => f.name !== 'kernel+initrd'))).toBeUndefined();
  });

  test('an unknown format names the known ones', () => {
    expect(() => outputFormat('iso')).toThrow(LkError);
    expect(() => outputFormat('iso')).toThrow(/unknown output format "iso"/);
    expect(() => outputPaths('qcow', 'x')).toThrow(LkError);
  });
});

describe('identifyOutput', () => {
  const id = (p: string) => {
    const r = identifyOutput(p);
    return r && { format: r.format.name, role: r.file.role, diskFormat: r.file.diskFormat, base: r.base };
  };

  test('tells the format, the file and the prefix from the name', () => {
    expect(id('/o/node-bios.img')).toEqual({ format: 'raw-bios', role: 'disk', diskFormat: 'raw', base: '/o/node' });
    expect(id('/o/node-efi.img')).toEqual({ format: 'raw-efi', role: 'disk', diskFormat: 'raw', base: '/o/node' });
    expect(id('/o/node.raw')).toEqual({ format: 'aws', role: 'disk', diskFormat: 'raw', base: '/o/node' });
    expect(id('/o/node.vhd')).toEqual({ format: 'vhd', role: 'disk', diskFormat: 'vpc', base: '/o/node' });
    expect(id('/o/node.qcow2')).toEqual({ format: 'qcow2', role: 'disk', diskFormat: 'qcow2', base: '/o/node' });
    expect(id('/o/node.efi')).toEqual({ format: 'uki', role: 'uki', diskFormat: undefined, base: '/o/node' });
    expect(id('/o/node-kernel')).toEqual({ format: 'kernel+initrd', role: 'kernel', diskFormat: undefined, base: '/o/node' });
    expect(id('/o/node-initrd.img')).toEqual({ format: 'kernel+initrd', role: 'initrd', diskFormat: undefined, base: '/o/node' });
    expect(id('/o/node-squashfs.img')).toEqual({ format: 'kernel+squashfs', role: 'root-image', diskFormat: undefined, base: '/o/node' });
  });

  test('the longest ending wins, in any case', () => {
    expect(id('/o/node-efi.iso')?.format).toBe('iso-efi');
    expect(id('/o/node.iso')?.format).toBe('iso-bios');
    expect(id('/o/NODE-EFI.ISO')).toEqual({ format: 'iso-efi', role: 'cdrom', diskFormat: undefined, base: '/o/NODE' });
    expect(id('/o/node.img.tar.gz')?.format).toBe('gcp');
    expect(id('/o/node-initrd.tar')?.format).toBe('tar-kernel-initrd');
    expect(id('/o/node.tar')?.format).toBe('tar');
  });

  test('names no format writes are undefined: the bare prefix, other files, a suffix alone', () => {
    expect(identifyOutput('/o/node')).toBeUndefined();
    expect(identifyOutput('/o/node.img')).toBeUndefined();
    expect(identifyOutput('/o/node.txt')).toBeUndefined();
    expect(identifyOutput('.iso')).toBeUndefined();
  });
});

describe('the writers', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('each writes exactly the files its entry declares, under temporary names until committed', async () => {
    const tree = new FsTree();
    tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
    tree.set('bin/sh', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: bufferContent('#!/bin/true\n') });
    tree.set('init', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: bufferContent('init\n') });
    const node = { tree, kernel: bufferContent(Buffer.alloc(100_001, 0x4b)), cmdline: 'console=ttyS0' } as unknown as AssembledNode;
    for (const f of outputFormats) {
      const dir = await mkdtemp(join(tmpdir(), 'lk-table-'));
      dirs.push(dir);
      const outputs = new AtomicOutputs();
      await formatWriter(f.name)({ node, base: join(dir, 'node'), sourceDateEpoch: 0, outputs });
      // Written under temporary names: nothing has its final name until the build commits.
      const pending = await readdir(dir);
      expect(pending.length, f.name).toBe(promised[f.name]!.files.length);
      for (const p of pending) expect(p, f.name).toMatch(/^\..+\.\d+\.partial$/);
      await outputs.commit();
      expect((await readdir(dir)).sort(), f.name).toEqual([...promised[f.name]!.files].sort());
    }
  }, 120_000);
});
