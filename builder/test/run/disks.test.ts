import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, test } from 'vitest';
import { createDisks, diskArgs, planDisks } from '../../src/run/disks.js';
import { parseDisk } from '../../src/run/options.js';
import { stateDir } from '../../src/run/state.js';

const MiB = 1024 * 1024;

describe('run qemu --disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lk-disks-'));
  });
  const plan = (...specs: string[]) => planDisks(specs.map(parseDisk), stateDir(join(dir, 'state')));

  test('missing files are created at their size: raw sparse, qcow2 as qemu-img reads it', async () => {
    const plans = await plan(`${join(dir, 'a.img')},size=16M`, `${join(dir, 'b.qcow2')},size=1G`);
    expect(plans.map((p) => [p.format, p.create])).toEqual([
      ['raw', 16 * MiB],
      ['qcow2', 1024 * MiB],
    ]);
    await createDisks(plans);
    expect((await stat(join(dir, 'a.img'))).size).toBe(16 * MiB);
    expect((await stat(join(dir, 'a.img'))).blocks).toBe(0);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', join(dir, 'b.qcow2')])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 * MiB });
  });

  test('an existing file is used as it is; a larger size does not grow it, a smaller one is refused', async () => {
    await writeFile(join(dir, 'x.img'), Buffer.alloc(4 * MiB, 9));
    const [p] = await plan(`${join(dir, 'x.img')},size=8M`);
    expect(p!.create).toBeUndefined();
    await createDisks([p!]);
    expect((await readFile(join(dir, 'x.img'))).equals(Buffer.alloc(4 * MiB, 9))).toBe(true);
    await expect(plan(`${join(dir, 'x.img')},size=1M`)).rejects.toThrow(/^--disk: .*cannot hold the existing/);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'y.qcow2'), '2G']);
    await expect(plan(`${join(dir, 'y.qcow2')},size=1G`)).rejects.toThrow(/\(2147483648 bytes\)/);
    await expect(plan(`${join(dir, 'x.img')},format=qcow2`)).rejects.toThrow(/^--disk: .*is not a qcow2 image/);
  });

  test('default files live in the state directory; a file given twice or a missing directory is refused', async () => {
    const plans = await plan('size=1M', 'size=2M,format=qcow2');
    expect(plans.map((p) => p.file)).toEqual([join(dir, 'state', 'disk0.img'), join(dir, 'state', 'disk1.qcow2')]);
    await expect(plan(`${join(dir, 'a.img')},size=1M`, `${join(dir, 'a.img')},size=1M`)).rejects.toThrow(/attached twice/);
    await expect(plan(`${join(dir, 'no', 'a.img')},size=1M`)).rejects.toThrow(/the directory .* does not exist/);
  });

  test('a file that appears meanwhile is never overwritten', async () => {
    const plans = await plan(`${join(dir, 'race.img')},size=1M`);
    await writeFile(join(dir, 'race.img'), 'mine');
    await expect(createDisks(plans)).rejects.toThrow(/appeared while lkbuild was creating it/);
    expect(await readFile(join(dir, 'race.img'), 'utf8')).toBe('mine');
  });

  test('without qemu-img a qcow2 disk fails naming the Debian package, and nothing is left behind', async () => {
    const plans = await plan(`${join(dir, 'c.qcow2')},size=1G`);
    const path = process.env.PATH;
    process.env.PATH = await mkdtemp(join(tmpdir(), 'empty-path-'));
    try {
      await expect(createDisks(plans)).rejects.toMatchObject({
        message: '--disk needs qemu-img, which is not installed',
        hint: 'install the Debian package qemu-utils on the build host',
      });
    } finally {
      process.env.PATH = path;
    }
    expect(await readdir(dir)).toEqual([]);
  });

  test('QEMU arguments: virtio-blk in order, commas doubled', () => {
    const args = diskArgs(
      [
        { file: '/d/a,b.img', format: 'raw', spec: '' },
        { file: '/d/c.qcow2', format: 'qcow2', spec: '' },
      ],
      'q35',
    );
    expect(args).toEqual([
      '-drive',
      'if=none,id=disk0,format=raw,discard=unmap,file=/d/a,,b.img',
      '-device',
      'virtio-blk-pci,drive=disk0',
      '-drive',
      'if=none,id=disk1,format=qcow2,discard=unmap,file=/d/c.qcow2',
      '-device',
      'virtio-blk-pci,drive=disk1',
    ]);
    expect(diskArgs([{ file: '/d/a.img', format: 'raw', spec: '' }], 'microvm')[3]).toBe('virtio-blk-device,drive=disk0');
  });
});
