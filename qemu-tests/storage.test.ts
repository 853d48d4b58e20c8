// format + mount: a blank disk is formatted and keeps a file across boots (and grows with its
// disk); a disk made on the host is mounted as it is; a disk too small or holding anything else
// is not touched, and the node boots anyway. The host's own e2fsprogs and sfdisk check the disks.
import { mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

const MiB = 1024 * 1024;
let base: string;
let dir: string;

/** `lkbuild run qemu --disk FILE,format=raw`: virtio disks, /dev/vda first. */
const disks = (...files: string[]) => files.flatMap((f) => ['--disk', `${f},format=raw`]);
const bootWith = (...files: string[]) => boot(base, { args: disks(...files), timeoutMs: 300_000 });

/** Blank (sparse, all zero) disk file. */
async function blankDisk(name: string, mib: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, '');
  await truncate(file, mib * MiB);
  return file;
}

/** The ext4 superblock's UUID and label, read on the host (offset for a partition in a disk file). */
async function superblock(file: string, offset = 0): Promise<{ uuid: string; label: string }> {
  const { stdout } = await execa('dumpe2fs', ['-h', offset ? `${file}?offset=${offset}` : file], { stderr: 'ignore' });
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  return { uuid: field('Filesystem UUID'), label: field('Filesystem volume name') };
}

async function allZero(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MiB);
    for (let pos = 0; ; pos += MiB) {
      const { bytesRead } = await fh.read(buf, 0, MiB, pos);
      if (bytesRead === 0) return true;
      if (buf.subarray(0, bytesRead).some((b) => b !== 0)) return false;
    }
  } finally {
    await fh.close();
  }
}

function onbootExit(out: string, name: string): string | undefined {
  return new RegExp(`^lk-init: onboot ${name} exit=(\\d+)`, 'm').exec(out)?.[1];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lk-storage-'));
  base = await buildCase('storage');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a blank disk', () => {
  let file: string;
  let first: BootResult;
  let second: BootResult;

  beforeAll(async () => {
    file = await blankDisk('blank.img', 64);
    first = await bootWith(file);
    await truncate(file, 128 * MiB); // the disk grows between boots, as a cloud volume can
    second = await bootWith(file);
  });

  test('boot 1 partitions and formats it, mounts it at /var/lib and writes a file', async () => {
    expect(first.timedOut, first.output).toBe(false);
    expect(first.output).toContain('format: formatting /dev/vda: GPT, one partition /dev/vda1, ext4 labelled DATA');
    expect(onbootExit(first.output, 'format')).toBe('0');
    expect(first.output).toContain('mount: mounted /dev/vda1 (DATA) at /var/lib');
    expect(tagged(first.output, 'STORE')).toEqual(expect.arrayContaining(['boot=1', 'fs=/dev/vda1 ext4']));
  });

  test('boot 2 finds the file, grows the partition and filesystem to the grown disk, formats nothing', async () => {
    expect(second.timedOut, second.output).toBe(false);
    expect(second.output).toContain('format: found /dev/vda1 labelled DATA; not formatting');
    expect(second.output).not.toContain('format: formatting');
    expect(second.output).toContain('format: /dev/vda has grown: growing /dev/vda1 to the end of the disk');
    const store = tagged(second.output, 'STORE');
    expect(store).toEqual(expect.arrayContaining(['boot=2', 'fs=/dev/vda1 ext4']));
    const size = Number(store.find((l) => l.startsWith('size-mib='))?.slice(9));
    expect(size).toBeGreaterThan(100); // was under 64
    // The host's sfdisk reads one GPT partition reaching the disk's end; its ext4 says DATA.
    const table = JSON.parse((await execa('sfdisk', ['--json', file])).stdout) as {
      partitiontable: { label: string; lastlba: number; partitions: { start: number; size: number }[] };
    };
    expect(table.partitiontable.label).toBe('gpt');
    expect(table.partitiontable.partitions).toHaveLength(1);
    const [p] = table.partitiontable.partitions;
    // The backup GPT moved to the grown disk's end (33 sectors: entries and header) and the
    // partition reaches it, short of at most sfdisk's 1 MiB alignment.
    expect(table.partitiontable.lastlba).toBe(128 * 2048 - 34);
    expect(table.partitiontable.lastlba - (p.start + p.size - 1)).toBeLessThan(2048);
    expect((await superblock(file, p.start * 512)).label).toBe('DATA');
  });

  test('sysctl applied /etc/sysctl.d from the build file and named the line it could not apply', () => {
    expect(tagged(first.output, 'STORE')).toContain('overcommit=1');
    expect(first.output).toContain('sysctl: /etc/sysctl.d/50-test.conf:3: kernel.no_such_setting: no such setting in this kernel');
    expect(first.output).toContain('sysctl: applied 1 settings from /etc/sysctl.d');
    expect(onbootExit(first.output, 'sysctl')).toBe('1');
  });
});

describe('a disk made on the host with mkfs.ext4 -d', () => {
  let file: string;
  let before: { uuid: string; label: string };
  let result: BootResult;

  beforeAll(async () => {
    const content = join(dir, 'content');
    await mkdir(content, { recursive: true });
    await writeFile(join(content, 'host-made.txt'), 'made on the host\n');
    file = join(dir, 'premade.img');
    await execa('mkfs.ext4', ['-q', '-L', 'DATA', '-d', content, file, '48M']);
    before = await superblock(file);
    result = await bootWith(file);
  });

  test('is mounted as it is: the file is there and the filesystem is the same one', async () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.output).toContain('format: found /dev/vda labelled DATA; not formatting');
    expect(tagged(result.output, 'STORE')).toEqual(expect.arrayContaining(['boot=1', 'host-file=made on the host', 'fs=/dev/vda ext4']));
    expect(await superblock(file)).toEqual(before);
  });
});

describe('disks format must not write', () => {
  let tiny: string;
  let foreign: string;
  let foreignBefore: { uuid: string; label: string };
  let result: BootResult;

  beforeAll(async () => {
    tiny = await blankDisk('tiny.img', 8);
    foreign = join(dir, 'foreign.img');
    await execa('mkfs.ext4', ['-q', '-L', 'OTHER', foreign, '40M']);
    foreignBefore = await superblock(foreign);
    result = await bootWith(tiny, foreign);
  });

  test('a blank disk too small gets one clear line and stays blank; the node still boots', async () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.output).toContain('format: /dev/vda is too small to format: 8 MiB, needs at least 32 MiB; not touched');
    expect(result.output).toContain('format: no disk was formatted: every blank disk is too small');
    expect(onbootExit(result.output, 'format')).toBe('1');
    expect(result.output).toContain('mount: no filesystem labelled DATA; /var/lib stays in RAM and is lost at shutdown');
    expect(result.output).toMatch(/^lk-init: ready /m);
    expect(await allZero(tiny)).toBe(true);
  });

  test('a disk holding a filesystem with another label is left as it is', async () => {
    expect(result.output).toContain('format: /dev/vdb holds a partition table or data; not touched');
    expect(await superblock(foreign)).toEqual(foreignBefore);
  });
});
