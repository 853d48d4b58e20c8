// `run qemu` of a kernel+squashfs build: the root image goes in read-only as the first virtio
// disk, whichever of the build's files (or its prefix) is given.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareQemu } from '../../src/run/qemu.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lk-run-squashfs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function build(name: string, cmdline: string, squashfs = true): Promise<string> {
  const base = join(dir, name);
  await writeFile(`${base}-kernel`, 'k');
  await writeFile(`${base}-initrd.img`, 'i');
  await writeFile(`${base}-cmdline`, cmdline);
  if (squashfs) await writeFile(`${base}-squashfs.img`, Buffer.alloc(4096));
  return base;
}

const dataDisk = ['-drive', 'if=none,id=disk0,format=raw,file=/data.img', '-device', 'virtio-blk-pci,drive=disk0'];

describe('run qemu kernel+squashfs', () => {
  test.each(['', '-kernel', '-initrd.img', '-cmdline', '-squashfs.img'])(
    'given "NAME%s": the image is the first disk, read-only',
    async (suffix) => {
      const base = await build(`node${suffix.replace(/\W/g, '')}`, 'console=ttyS0 lk.root=/dev/vda');
      const { args } = await prepareQemu({ base: `${base}${suffix}`, accel: 'tcg', devices: dataDisk });
      const root = args.indexOf(`if=none,id=root,format=raw,readonly=on,file=${base}-squashfs.img`);
      expect(root).toBeGreaterThan(0);
      expect(args[root + 2]).toBe('virtio-blk-pci,drive=root');
      expect(root).toBeLessThan(args.indexOf(dataDisk[1]!)); // before every --disk: /dev/vda
      expect(args[args.indexOf('-kernel') + 1]).toBe(`${base}-kernel`);
      expect(args[args.indexOf('-append') + 1]).toBe('console=ttyS0 lk.root=/dev/vda');
    },
  );

  test('microvm attaches it as a virtio-mmio disk', async () => {
    const base = await build('micro', 'console=ttyS0 lk.root=/dev/vda');
    const { args } = await prepareQemu({ base, accel: 'kvm', machine: 'microvm' });
    expect(args).toContain('virtio-blk-device,drive=root');
  });

  test('a stale squashfs beside a kernel+initrd build (no lk.root=) is left out', async () => {
    const base = await build('stale', 'console=ttyS0');
    const { args } = await prepareQemu({ base, accel: 'tcg' });
    expect(args.join(' ')).not.toContain('id=root');
  });

  test('a command line naming lk.root= without its image is an error naming the file', async () => {
    const base = await build('lost', 'console=ttyS0 lk.root=/dev/vda', false);
    await expect(prepareQemu({ base, accel: 'tcg' })).rejects.toThrow(`${base}-squashfs.img does not exist`);
  });
});

describe('run qemu of a build whose name ends like one of its files', () => {
  test('the prefix "debian-kernel" boots debian-kernel-kernel, not the kernel of a build called "debian"', async () => {
    const base = await build('debian-kernel', 'console=ttyS0', false);
    const { args } = await prepareQemu({ base, accel: 'tcg' });
    expect(args[args.indexOf('-kernel') + 1]).toBe(`${base}-kernel`);
    expect(args[args.indexOf('-initrd') + 1]).toBe(`${base}-initrd.img`);
  });

  test('the file debian-kernel of a build called "debian" still stands for that build', async () => {
    const base = await build('debian', 'console=ttyS0', false);
    const { args } = await prepareQemu({ base: `${base}-kernel`, accel: 'tcg' });
    expect(args[args.indexOf('-kernel') + 1]).toBe(`${base}-kernel`);
  });
});
