// Boot test: the verified root (lk.root=, lk.verity=). First on its own, independent of the
// builder's kernel+squashfs and --verity outputs: the test makes the root image from a
// kernel+initrd build's own initrd with Debian's mksquashfs and veritysetup, and boots it as the
// first virtio disk with an initrd that holds only the init, so whatever runs came from the
// image. Then the builder's own outputs through the CLI, corrupted on disk where sgdisk and the
// squashfs superblock say the root image is.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, bootQemuArgs, buildCase, markers, type BootResult } from './harness.js';
import { serviceEvents, tagged } from './init-helpers.js';
import {
  BLOCK,
  events,
  flippedCopy,
  linuxPartitionOffset,
  nothingRan,
  smallInitrd,
  squashfsBlocks,
  squashfsWithVerity,
  unpackInitrd,
  type VerityImage,
} from './verity-helpers.js';

const TIMEOUT_MS = 240_000;

describe('verified root boot test (image made by veritysetup)', () => {
  let work: string;
  let base: string;
  let image: VerityImage;
  let good: BootResult;
  let dataFlip: BootResult;
  let hashFlip: BootResult;
  let missing: BootResult;
  let badParam: BootResult;
  let dataFlipBlock: number;

  const bootDisk = (disk: string | null, append: string) =>
    boot(base, {
      append: `lk.poweroff=ready lk.console-logs ${append}`,
      args: disk ? ['--disk', `${disk},format=raw`] : [],
      timeoutMs: TIMEOUT_MS,
    });

  beforeAll(async () => {
    const built = await buildCase('verity');
    work = await mkdtemp(join(tmpdir(), 'lk-verity-'));
    await unpackInitrd(`${built}-initrd.img`, join(work, 'tree'));
    base = join(work, 'node');
    await copyFile(`${built}-kernel`, `${base}-kernel`);
    await copyFile(`${built}-cmdline`, `${base}-cmdline`);
    await smallInitrd(join(work, 'tree/init'), `${base}-initrd.img`, work);
    image = await squashfsWithVerity(join(work, 'tree'), join(work, 'root.img'));

    const verity = `lk.root=/dev/vda lk.verity=${image.cmdline}`;
    good = await bootDisk(image.path, `lk.debug lk.modules=dummy ${verity}`);
    // A byte in the middle of the squashfs, and one in the hash tree's first block (its top level).
    const dataOffset = Math.floor(image.dataBlocks / 2) * BLOCK + 1234;
    dataFlipBlock = Math.floor(dataOffset / BLOCK);
    await flippedCopy(image.path, join(work, 'data-flip.img'), dataOffset);
    dataFlip = await bootDisk(join(work, 'data-flip.img'), verity);
    await flippedCopy(image.path, join(work, 'hash-flip.img'), image.dataBlocks * BLOCK + 100);
    hashFlip = await bootDisk(join(work, 'hash-flip.img'), verity);
    missing = await bootDisk(null, 'lk.root=/dev/vdz');
    badParam = await bootDisk(image.path, `lk.root=/dev/vda lk.verity=${image.dataBlocks},1,${image.rootHash},${image.salt}`);
  }, 1_800_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the verified image boots to ready: root first, then onboot and the service from the image', () => {
    expect(good.timedOut, good.output).toBe(false);
    expect(good.exitCode, good.output).toBe(0);
    const e = events(good.output);
    expect(e.filter((x) => x === 'root')).toHaveLength(1);
    expect(e.indexOf('start')).toBeLessThan(e.indexOf('root'));
    expect(e.indexOf('root')).toBeLessThan(e.indexOf('onboot'));
    expect(e.indexOf('onboot')).toBeLessThan(e.indexOf('ready'));
    const root = markers(good.output).find((m) => m.event === 'root')!;
    expect(root.name).toBe('/dev/vda');
    expect(root.fields).toMatchObject({ verity: 'on', blocks: String(image.dataBlocks) });
    expect(tagged(good.output, 'VERITY')).toContain('onboot ran');
    expect(serviceEvents(good.output, 'web', 'started')).toHaveLength(1);
    // The kernel modules too come from the image (the small initrd has none).
    expect(markers(good.output).some((m) => m.event === 'module' && m.name === 'dummy')).toBe(true);
    expect(good.output).not.toContain('lk-init: error in');
  });

  test('a flipped byte in the data stops the boot at the verity check, naming the block', () => {
    expect(dataFlip.timedOut, dataFlip.output).toBe(false);
    expect(dataFlip.output).toMatch(new RegExp(`^lk-init: verity failed: /dev/vda block ${dataFlipBlock}: I/O error$`, 'm'));
    // The kernel's own report names the same block.
    expect(dataFlip.output).toContain(`data block ${dataFlipBlock} is corrupted`);
    expect(nothingRan(dataFlip.output), dataFlip.output).toBe(true);
    expect(dataFlip.output).not.toContain('VERITY');
    expect(dataFlip.exitCode, dataFlip.output).toBe(0); // powered off
  });

  test('a flipped byte in the hash tree stops the boot too', () => {
    expect(hashFlip.timedOut, hashFlip.output).toBe(false);
    expect(hashFlip.output).toMatch(/^lk-init: verity failed: \/dev\/vda block \d+: I\/O error$/m);
    expect(nothingRan(hashFlip.output), hashFlip.output).toBe(true);
    expect(hashFlip.exitCode, hashFlip.output).toBe(0);
  });

  test('a root device that never appears stops the boot after 10 s', () => {
    expect(missing.output).toMatch(/^lk-init: root failed: \/dev\/vdz did not appear within 10 s$/m);
    expect(nothingRan(missing.output), missing.output).toBe(true);
    expect(missing.exitCode, missing.output).toBe(0);
  });

  test('a malformed lk.verity= stops the boot naming what is wrong', () => {
    expect(badParam.output).toMatch(/^lk-init: root failed: lk\.verity=\S+: the hash tree \(block 1\) starts inside the data/m);
    expect(nothingRan(badParam.output), badParam.output).toBe(true);
    expect(badParam.exitCode, badParam.output).toBe(0);
  });
});

describe('verified root boot test (the builder: kernel+squashfs, raw-efi --verity)', () => {
  let work: string;
  let squashfs: BootResult;
  let disk: BootResult;
  let dataFlip: BootResult;
  let hashFlip: BootResult;
  let dataFlipBlock: number;
  let awsNvme: BootResult;
  let awsBios: BootResult;

  // The build file's command line has lk.poweroff=ready lk.console-logs: disks boot with it.
  const bootNode = (path: string) => boot(path, { append: '', timeoutMs: TIMEOUT_MS });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lk-verity-cli-'));
    squashfs = await bootNode(await buildCase('verity', ['kernel+squashfs']));
    const efi = `${await buildCase('verity', ['raw-efi'], ['--verity'])}-efi.img`;
    disk = await bootNode(efi);
    // Where the root image is, from the disk itself: the GPT (sgdisk) and the squashfs superblock.
    const part = await linuxPartitionOffset(efi);
    const blocks = await squashfsBlocks(efi, part);
    const dataOffset = part + Math.floor(blocks / 2) * BLOCK + 777;
    dataFlipBlock = Math.floor((dataOffset - part) / BLOCK);
    await flippedCopy(efi, join(work, 'data-flip-efi.img'), dataOffset);
    dataFlip = await bootNode(join(work, 'data-flip-efi.img'));
    await flippedCopy(efi, join(work, 'hash-flip-efi.img'), part + blocks * BLOCK + 100);
    hashFlip = await bootNode(join(work, 'hash-flip-efi.img'));
    // The aws disk as EC2 meets it: UEFI with the disk on NVMe (Nitro), and legacy BIOS
    // (syslinux) with the disk on AHCI.
    const aws = `${await buildCase('verity', ['aws'], ['--verity'])}.raw`;
    const vars = join(work, 'OVMF_VARS_4M.fd');
    await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
    const ovmf = ['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd'];
    ovmf.push('-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    const nvme = ['-drive', `file=${aws},format=raw,snapshot=on,if=none,id=root`, '-device', 'nvme,drive=root,serial=lkbuild'];
    awsNvme = await bootQemuArgs([...ovmf, ...nvme], { timeoutMs: TIMEOUT_MS });
    awsBios = await bootQemuArgs(['-drive', `file=${aws},format=raw,snapshot=on`], { timeoutMs: TIMEOUT_MS });
  }, 1_800_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a kernel+squashfs build boots to ready from /dev/vda', () => {
    expect(squashfs.exitCode, squashfs.output).toBe(0);
    const e = events(squashfs.output);
    expect(e.indexOf('root')).toBeGreaterThan(e.indexOf('start'));
    expect(e.indexOf('ready')).toBeGreaterThan(e.indexOf('root'));
    expect(markers(squashfs.output).find((m) => m.event === 'root')).toMatchObject({ name: '/dev/vda', fields: { verity: 'off' } });
    expect(tagged(squashfs.output, 'VERITY')).toContain('onboot ran');
    expect(serviceEvents(squashfs.output, 'web', 'started')).toHaveLength(1);
  });

  test('a --verity raw-efi disk boots to ready through dm-verity, the root found by PARTUUID', () => {
    expect(disk.exitCode, disk.output).toBe(0);
    const e = events(disk.output);
    expect(e.filter((x) => x === 'root')).toHaveLength(1);
    expect(e.indexOf('ready')).toBeGreaterThan(e.indexOf('root'));
    const root = markers(disk.output).find((m) => m.event === 'root')!;
    expect(root.name).toMatch(/^\/dev\/vda\d+$/);
    expect(root.fields.verity).toBe('on');
    expect(tagged(disk.output, 'VERITY')).toContain('onboot ran');
    expect(serviceEvents(disk.output, 'web', 'started')).toHaveLength(1);
  });

  test('one byte flipped in the root image data stops the disk at the verity check', () => {
    expect(dataFlip.timedOut, dataFlip.output).toBe(false);
    expect(dataFlip.output).toMatch(new RegExp(`^lk-init: verity failed: /dev/vda\\d+ block ${dataFlipBlock}: I/O error$`, 'm'));
    expect(nothingRan(dataFlip.output), dataFlip.output).toBe(true);
    expect(dataFlip.output).not.toContain('VERITY');
  });

  test('one byte flipped in the hash tree stops it too', () => {
    expect(hashFlip.timedOut, hashFlip.output).toBe(false);
    expect(hashFlip.output).toMatch(/^lk-init: verity failed: \/dev\/vda\d+ block \d+: I\/O error$/m);
    expect(nothingRan(hashFlip.output), hashFlip.output).toBe(true);
  });

  test.each([
    ['UEFI, the disk on NVMe', () => awsNvme, /^\/dev\/nvme0n1p2$/],
    ['legacy BIOS (syslinux), the disk on AHCI', () => awsBios, /^\/dev\/sda2$/],
  ])('an aws --verity disk boots to ready through dm-verity: %s', (_how, result, device) => {
    const r = result();
    expect(r.timedOut, r.output).toBe(false);
    const e = events(r.output);
    expect(e.filter((x) => x === 'root')).toHaveLength(1);
    expect(e.indexOf('ready')).toBeGreaterThan(e.indexOf('root'));
    const root = markers(r.output).find((m) => m.event === 'root')!;
    expect(root.name).toMatch(device);
    expect(root.fields.verity).toBe('on');
    expect(tagged(r.output, 'VERITY')).toContain('onboot ran');
    expect(serviceEvents(r.output, 'web', 'started')).toHaveLength(1);
  });
});
