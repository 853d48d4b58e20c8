import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { formatWriter } from '../../src/formats/index.js';
import { parsePe, peChecksum } from '../../src/formats/pe.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';

/** A node whose "kernel" is 1 MiB of patterned bytes: enough to lay out, not to boot. */
function node(osRelease: 'file' | 'symlink' | 'none') {
  const tree = new FsTree();
  tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
  tree.mkdirp('etc');
  tree.mkdirp('usr/lib');
  const release = bufferContent('ID=testos\nNAME="Test OS"\n');
  if (osRelease === 'file') tree.set('etc/os-release', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: release });
  if (osRelease === 'symlink') {
    tree.set('usr/lib/os-release', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: release });
    tree.set('etc/os-release', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '../usr/lib/os-release' });
  }
  const kernel = Buffer.alloc(1024 * 1024 + 3);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 31) & 0xff;
  return { tree, kernel: bufferContent(kernel), cmdline: ' console=ttyS0\n  quiet ' };
}

async function build(
  dir: string,
  formats: string[],
  osRelease: 'file' | 'symlink' | 'none' = 'symlink',
  epoch = 1700000000,
): Promise<string[]> {
  const outputs = new AtomicOutputs();
  const n = node(osRelease);
  for (const f of formats) await formatWriter(f)({ node: n, base: join(dir, 'node'), sourceDateEpoch: epoch, outputs });
  return outputs.commit();
}

function section(file: Buffer, name: string): Buffer {
  const s = parsePe(file).sections.find((x) => x.name === name)!;
  return file.subarray(s.pointerToRawData, s.pointerToRawData + s.virtualSize);
}

describe('uki and raw-efi writers', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = await mkdtemp(join(tmpdir(), 'lk-uki-a-'));
    b = await mkdtemp(join(tmpdir(), 'lk-uki-b-'));
  });
  afterAll(async () => {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  });

  test('uki: the sections hold os-release (through its symlink), the command line, the kernel, the initrd', async () => {
    expect(await build(a, ['uki'])).toEqual([join(a, 'node.efi')]);
    const uki = await readFile(join(a, 'node.efi'));
    const pe = parsePe(uki);
    expect(pe.timestamp).toBe(1700000000);
    expect(peChecksum(uki)).toBe(pe.checksum);
    expect(section(uki, '.osrel').toString()).toBe('ID=testos\nNAME="Test OS"\n');
    expect(section(uki, '.cmdline').toString()).toBe('console=ttyS0 quiet');
    expect(section(uki, '.linux')).toEqual(await readStream(node('none').kernel.open()));
    const cpio = gunzipSync(section(uki, '.initrd')).toString('latin1');
    expect(cpio.startsWith('070701')).toBe(true);
    expect(cpio).toContain('usr/lib/os-release');
    expect(cpio).toContain('TRAILER!!!');
  });

  test('uki: without an os-release the build names itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-uki-c-'));
    try {
      await build(dir, ['uki'], 'none');
      const osrel = section(await readFile(join(dir, 'node.efi')), '.osrel').toString();
      expect(osrel).toContain('ID=lkbuild\n');
      expect(osrel).toContain('IMAGE_ID="node"\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('raw-efi: same inputs, same bytes; a valid GPT; the UKI in the ESP with the epoch as its time', async () => {
    await build(a, ['raw-efi']);
    await build(b, ['uki', 'raw-efi']);
    const img = join(a, 'node-efi.img');
    const digest = async (p: string) =>
      createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
    expect(await digest(join(b, 'node-efi.img'))).toBe(await digest(img));
    expect(await digest(join(b, 'node.efi'))).toBe(await digest(join(a, 'node.efi')));
    expect((await stat(img)).size).toBe(42 * 1024 * 1024);
    expect((await execa('sgdisk', ['-v', img])).stdout).toContain('No problems found');
    const env = { MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
    const dir = await execa('mdir', ['-i', `${img}@@1M`, '::EFI/BOOT'], { env });
    // 1700000000 is 2023-11-14 22:13:20 UTC.
    expect(dir.stdout).toMatch(new RegExp(`BOOTX64\\s+EFI\\s+${(await stat(join(a, 'node.efi'))).size}\\s+2023-11-14\\s+22:13`));
    const copied = await execa('mtype', ['-i', `${img}@@1M`, '::EFI/BOOT/BOOTX64.EFI'], { env, encoding: 'buffer' });
    expect(createHash('sha256').update(copied.stdout).digest('hex')).toBe(await digest(join(a, 'node.efi')));
  });

  test('raw-efi: another epoch changes the UKI and so the disk GUID', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-uki-d-'));
    try {
      await build(dir, ['raw-efi'], 'symlink', 1700000002);
      const guid = async (p: string) => /Disk identifier \(GUID\): (\S+)/.exec((await execa('sgdisk', ['-p', p])).stdout)?.[1];
      const g1 = await guid(join(a, 'node-efi.img'));
      expect(g1).toMatch(/^[0-9A-F-]{36}$/);
      expect(await guid(join(dir, 'node-efi.img'))).not.toBe(g1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function readStream(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('missing host tools', () => {
  test('name the Debian package to install', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-uki-tools-'));
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-tools-here');
    try {
      await expect(build(dir, ['raw-efi'])).rejects.toMatchObject({
        kind: 'tool',
        message: expect.stringContaining('mkfs.vfat'),
        hint: expect.stringContaining('dosfstools'),
      });
      await expect(build(dir, ['qcow2'])).rejects.toMatchObject({
        kind: 'tool',
        message: expect.stringContaining('qemu-img'),
        hint: expect.stringContaining('qemu-utils'),
      });
    } finally {
      process.env.PATH = path;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
