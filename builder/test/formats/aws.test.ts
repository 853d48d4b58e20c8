import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { ENTRY_SIZE, LEGACY_BIOS_BOOTABLE, crc32, gptStructures } from '../../src/formats/gpt.js';
import { formatNames, formatWriter } from '../../src/formats/index.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';

/** A node whose "kernel" is patterned bytes: enough to lay out, not to boot. */
function node() {
  const tree = new FsTree();
  tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
  const kernel = Buffer.alloc(512 * 1024 + 5);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 17) & 0xff;
  return { tree, kernel: bufferContent(kernel), cmdline: 'console=ttyS0  quiet\n' };
}

const dirs: string[] = [];
async function build(epoch = 1_700_000_000, name = 'node'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-aws-'));
  dirs.push(dir);
  const outputs = new AtomicOutputs();
  await formatWriter('aws')({ node: node() as never, base: join(dir, name), sourceDateEpoch: epoch, outputs });
  await outputs.commit();
  return dir;
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('gpt: boot code and attributes', () => {
  test('the protective MBR carries the boot code; the entry carries the attributes (in the CRC)', () => {
    const code = Buffer.alloc(440, 0xfa);
    const disk = {
      sectors: 4096,
      diskGuid: '01234567-89AB-8CDE-8F01-23456789ABCD',
      bootCode: code,
      partitions: [
        {
          typeGuid: '01234567-89AB-8CDE-8F01-23456789ABCD',
          guid: '11234567-89AB-8CDE-8F01-23456789ABCD',
          firstLba: 2048,
          lastLba: 4000,
          name: 'p',
          attributes: LEGACY_BIOS_BOOTABLE,
        },
      ],
    };
    const g = gptStructures(disk);
    expect(g.head.subarray(0, 440)).toEqual(code);
    expect(g.head.readUInt16LE(510)).toBe(0xaa55);
    expect(g.head[446 + 4]).toBe(0xee);
    expect(g.head.readBigUInt64LE(1024 + 48)).toBe(4n);
    expect(g.head.readUInt32LE(512 + 88)).toBe(crc32(g.head.subarray(1024, 1024 + 128 * ENTRY_SIZE)));
    const plain = gptStructures({ ...disk, bootCode: undefined });
    expect(plain.head.subarray(0, 440).equals(Buffer.alloc(440))).toBe(true);
    expect(() => gptStructures({ ...disk, bootCode: Buffer.alloc(441) })).toThrow(/at most 440/);
  });
});

describe('aws writer (host tools: mtools, dosfstools, syslinux, systemd-boot-efi, gdisk)', () => {
  let dir: string;
  let disk: string;
  beforeAll(async () => {
    dir = await build();
    disk = join(dir, 'node.raw');
  }, 120_000);

  test('registered; only NAME.raw, a whole number of MiB', async () => {
    expect(formatNames).toContain('aws');
    expect(await readdir(dir)).toEqual(['node.raw']);
    expect((await readFile(disk)).length % (1024 * 1024)).toBe(0);
  });

  test('reproducible: the same bytes from a second build (and a clock that moved), others for another epoch', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect(await sha(join(await build(), 'node.raw'))).toBe(await sha(disk));
    expect(await sha(join(await build(1_800_000_000), 'node.raw'))).not.toBe(await sha(disk));
  }, 120_000);

  test('sgdisk: a clean GPT, one ESP at 1 MiB with the legacy BIOS bootable attribute', async () => {
    const v = await execa('sgdisk', ['-v', disk]);
    expect(v.stdout).toContain('No problems found');
    const i = await execa('sgdisk', ['-i', '1', disk]);
    expect(i.stdout).toContain('(EFI system partition)');
    expect(i.stdout).toContain('First sector: 2048 ');
    expect(i.stdout).toContain('Attribute flags: 0000000000000004');
    const a = await execa('sgdisk', ['-A', '1:show', disk]);
    expect(a.stdout).toMatch(/^1:2:1 \(legacy BIOS bootable\)$/m);
  });

  test('the protective MBR boot code is syslinux gptmbr.bin', async () => {
    const head = (await readFile(disk)).subarray(0, 512);
    expect(head.subarray(0, 440).equals(await readFile('/usr/lib/syslinux/mbr/gptmbr.bin'))).toBe(true);
    expect(head[446 + 4]).toBe(0xee);
  });

  test('the ESP: FAT32 with syslinux installed, the UKI, kernel, initrd, config, dated SOURCE_DATE_EPOCH', async () => {
    const img = `${disk}@@1M`;
    expect((await execa('minfo', ['-i', img, '::'], { env })).stdout).toMatch(/disk type="FAT32/);
    const root = (await execa('mdir', ['-a', '-i', img, '::/'], { env })).stdout;
    const names = [...root.matchAll(/^(\S+)(?: +(\S{1,3}))? +(?:<DIR>|\d+) +(\d{4}-\d\d-\d\d) +\d+:\d\d *$/gm)].map((x) => [
      `${x[1]}${x[2] ? `.${x[2]}` : ''}`,
      x[3],
    ]);
    expect(names.map((x) => x[0]).sort()).toEqual(['EFI', 'initrd.img', 'kernel', 'ldlinux.c32', 'ldlinux.sys', 'syslinux.cfg']);
    expect(new Set(names.map((x) => x[1]))).toEqual(new Set(['2023-11-14']));
    expect((await execa('mdir', ['-i', img, '::/EFI/BOOT'], { env })).stdout).toMatch(/^BOOTX64 +EFI +\d+ 2023-11-14/m);
    const cfg = (await execa('mtype', ['-i', img, '::/syslinux.cfg'], { env })).stdout;
    expect(cfg).toMatch(/^ {2}APPEND console=ttyS0 quiet$/m);
    const kernel = (await execa('mtype', ['-i', img, '::/kernel'], { env, encoding: 'buffer' })).stdout;
    expect(Buffer.from(kernel).equals(await readAll(node().kernel.open()))).toBe(true);
    // syslinux's boot code in the ESP's boot sector, hidden sectors = the ESP's LBA.
    const bs = (await readFile(disk)).subarray(2048 * 512, 2049 * 512);
    expect(bs.readUInt32LE(28)).toBe(2048);
    expect(bs.includes(Buffer.from('SYSLINUX'))).toBe(true);
    // The FAT32 backup boot sector (sector 6) matches, and fsck.fat finds nothing to fix.
    const all = await readFile(disk);
    expect(all.subarray((2048 + 6) * 512, (2048 + 7) * 512).equals(bs)).toBe(true);
    const esp = join(dir, 'esp.img');
    await writeFile(esp, all.subarray(2048 * 512, all.length - 1024 * 1024));
    const fsck = await execa('fsck.fat', ['-n', esp], { reject: false });
    await rm(esp);
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    expect(fsck.stdout).not.toContain('differences');
  });
});

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}
