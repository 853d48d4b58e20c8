import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootQemuArgs, buildCase, type BootResult } from './harness.js';
import { expectHelloBoot } from './format-checks.js';

// One build with every format; a second build must give the same bytes.
const formats = ['kernel+initrd', 'iso-bios', 'raw-bios', 'iso-efi'];
const files = ['formats-bios.iso', 'formats-bios-bios.img', 'formats-bios-efi.iso'];
const cmdline = 'console=ttyS0 lk.poweroff=ready';
/** /proc/cmdline starts with the kernel's built-in words (kernel-config/90-percpu.config). */
const BUILTIN = ['percpu_alloc=page'];
const ONBOOT = /formats-bios-onboot-marker cmdline=(\S+)/;

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('iso-bios, raw-bios and iso-efi formats', () => {
  let base: string;
  let base2: string;
  let scratch: string;
  const boots: Record<string, BootResult & { elapsedMs: number }> = {};
  const dir = (b: string) => join(b, '..');

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lk-formats-bios-'));
    base = await buildCase('formats-bios', formats);
    base2 = await buildCase('formats-bios', formats);
    boots['iso-bios'] = await bootQemuArgs(['-cdrom', `${base}.iso`], { timeoutMs: 240_000 });
    // The isohybrid MBR: the same ISO boots as a disk (a USB stick).
    boots['iso-bios-as-disk'] = await bootQemuArgs(['-drive', `file=${base}.iso,format=raw,snapshot=on`], { timeoutMs: 240_000 });
    boots['raw-bios'] = await bootQemuArgs(['-drive', `file=${base}-bios.img,format=raw,snapshot=on`], { timeoutMs: 240_000 });
    const vars = join(scratch, 'OVMF_VARS_4M.fd');
    await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
    boots['iso-efi'] = await bootQemuArgs(
      [
        '-drive',
        'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
        '-drive',
        `if=pflash,format=raw,unit=1,file=${vars}`,
        '-cdrom',
        `${base}-efi.iso`,
      ],
      { timeoutMs: 400_000 },
    );
    for (const [f, r] of Object.entries(boots)) {
      const size = (await stat(`${base}${f.startsWith('iso-bios') ? '.iso' : f === 'raw-bios' ? '-bios.img' : '-efi.iso'}`)).size;
      console.log(`${f}: ${size} bytes, QEMU start to power-off ${(r.elapsedMs / 1000).toFixed(1)} s`);
    }
  });

  afterAll(async () => {
    for (const b of [base, base2]) if (b) await rm(dir(b), { recursive: true, force: true });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('a second build gives byte-identical files', async () => {
    for (const f of files) {
      const [a, b] = [join(dir(base), f), join(dir(base2), f)];
      expect((await stat(a)).size, f).toBeGreaterThan(1024 * 1024);
      expect(await sha256(a), f).toBe(await sha256(b));
    }
  });

  for (const f of ['iso-bios', 'iso-bios-as-disk', 'raw-bios', 'iso-efi']) {
    test(`${f} boots to ready, runs the onboot container and powers off`, () => {
      expectHelloBoot(boots[f]!);
    });
  }

  test('the boot loaders pass the build file cmdline: syslinux adds BOOT_IMAGE and initrd, the UKI stub passes it as is', () => {
    const got = (f: string) => ONBOOT.exec(boots[f]!.output)?.[1]?.split(',');
    const syslinux = [...BUILTIN, 'BOOT_IMAGE=/kernel', ...cmdline.split(' '), 'initrd=/initrd.img'];
    expect(got('iso-bios')).toEqual(syslinux);
    expect(got('iso-bios-as-disk')).toEqual(syslinux);
    expect(got('raw-bios')).toEqual(syslinux);
    expect(got('iso-efi')).toEqual([...BUILTIN, ...cmdline.split(' ')]);
    // BIOS boots have no EFI; the EFI one ran under OVMF.
    expect(boots['iso-bios']!.output).not.toMatch(/efi: EFI v/);
    expect(boots['iso-efi']!.output).toMatch(/efi: EFI v[\d.]+ by EDK II/);
  });

  test('iso-bios: El Torito ISOLINUX image, isohybrid MBR, volume id, files dated SOURCE_DATE_EPOCH', async () => {
    const iso = `${base}.iso`;
    const { stdout, stderr } = await execa('xorriso', ['-indev', iso, '-report_el_torito', 'plain', '-find', '/', '-exec', 'lsdl', '--']);
    const report = `${stdout}\n${stderr}`;
    expect(report).toMatch(/Boot record\s*: El Torito , MBR isohybrid/);
    expect(report).toMatch(/Volume id\s*: 'LKBUILD'/);
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s+\d+/);
    expect(report).toMatch(/El Torito img path :\s+1\s+\/isolinux\/isolinux\.bin/);
    expect(report).toMatch(/El Torito img opts :\s+1\s+boot-info-table isohybrid-suitable/);
    const listed = [...report.matchAll(/^(\S+)\s+1\s+0\s+0\s+\d+\s+(\w+ +\d+ +\d+) '([^']+)'$/gm)].map((x) => [x[1], x[3], x[2]]);
    expect(listed.map((x) => x[1]).sort()).toEqual([
      '/',
      '/initrd.img',
      '/isolinux',
      '/isolinux/boot.cat',
      '/isolinux/isolinux.bin',
      '/isolinux/isolinux.cfg',
      '/isolinux/ldlinux.c32',
      '/kernel',
    ]);
    // SOURCE_DATE_EPOCH is unset for the build: every date is the epoch.
    expect(new Set(listed.map((x) => x[2]!.replace(/\s+/g, ' ')))).toEqual(new Set(['Jan 1 1970']));
    // The ISO's kernel and cmdline are the build's; the MBR partition covers the ISO.
    await execa('xorriso', [
      '-osirrox',
      'on',
      '-indev',
      iso,
      '-extract',
      '/kernel',
      join(scratch, 'iso-kernel'),
      '-extract',
      '/isolinux/isolinux.cfg',
      join(scratch, 'isolinux.cfg'),
    ]);
    expect(await sha256(join(scratch, 'iso-kernel'))).toBe(await sha256(`${base}-kernel`));
    const cfg = await readFile(join(scratch, 'isolinux.cfg'), 'utf8');
    expect(cfg).toContain('LINUX /kernel\n');
    expect(cfg).toContain('INITRD /initrd.img\n');
    expect(cfg).toContain(`APPEND ${cmdline}\n`);
    const part = await execa('sfdisk', ['-d', iso]);
    expect(part.stdout).toMatch(new RegExp(`${iso.replace(/[.]/g, '\\.')}1 : start=\\s+0, size=\\s+\\d+, type=17, bootable`));
  });

  test('raw-bios: MBR with syslinux boot code and one bootable FAT partition at 1 MiB', async () => {
    const disk = `${base}-bios.img`;
    const size = (await stat(disk)).size;
    const { stdout } = await execa('sfdisk', ['-d', disk]);
    expect(stdout).toContain('label: dos');
    expect(stdout).toContain('label-id: 0x4c4b4231');
    const parts = stdout.split('\n').filter((l) => l.startsWith(disk));
    expect(parts).toHaveLength(1);
    expect(parts[0]!.slice(disk.length).replace(/\s+/g, ' ')).toBe(`1 : start= 2048, size= ${size / 512 - 2048}, type=e, bootable`);
    const head = await readFile(disk).then((b) => b.subarray(0, 440));
    expect(head.equals(await readFile('/usr/lib/syslinux/mbr/mbr.bin'))).toBe(true);
    // The partition: fixed serial and label, syslinux installed, the build's kernel and cmdline.
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
    const listing = (await execa('mdir', ['-a', '-i', `${disk}@@1M`, '::/'], { env })).stdout;
    expect(listing).toContain('Volume in drive : is LKBUILD');
    expect(listing).toContain('Volume Serial Number is 4C4B-4231');
    const names = [...listing.matchAll(/^(\S+)(?: +(\S{1,3}))? +\d+ +(\d{4}-\d\d-\d\d) +\d+:\d\d *$/gm)].map((x) => [
      `${x[1]}${x[2] ? `.${x[2]}` : ''}`,
      x[3],
    ]);
    expect(names.map((x) => x[0]).sort()).toEqual(['initrd.img', 'kernel', 'ldlinux.c32', 'ldlinux.sys', 'syslinux.cfg']);
    // FAT cannot date 1970: SOURCE_DATE_EPOCH 0 becomes 1980-01-01.
    expect(new Set(names.map((x) => x[1]))).toEqual(new Set(['1980-01-01']));
    await execa('mcopy', ['-i', `${disk}@@1M`, '::/kernel', join(scratch, 'disk-kernel')], { env });
    expect(await sha256(join(scratch, 'disk-kernel'))).toBe(await sha256(`${base}-kernel`));
    const cfg = (await execa('mtype', ['-i', `${disk}@@1M`, '::/syslinux.cfg'], { env })).stdout;
    expect(cfg).toContain(`APPEND ${cmdline}`);
  });

  test('iso-efi: El Torito UEFI image is a FAT file system holding the UKI as EFI/BOOT/BOOTX64.EFI', async () => {
    const iso = `${base}-efi.iso`;
    const { stdout, stderr } = await execa('xorriso', ['-indev', iso, '-report_el_torito', 'plain', '-find', '/', '-exec', 'lsdl', '--']);
    const report = `${stdout}\n${stderr}`;
    expect(report).toMatch(/Volume id\s*: 'LKBUILD'/);
    expect(report).toMatch(/El Torito boot img :\s+1\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+\d+\s+\d+/);
    expect(report).toMatch(/El Torito img path :\s+1\s+\/efi\/efiboot\.img/);
    const fat = join(scratch, 'efiboot.img');
    await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/efi/efiboot.img', fat]);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
    const listing = (await execa('mdir', ['-a', '-i', fat, '::/EFI/BOOT'], { env })).stdout;
    expect(listing).toContain('Volume in drive : is LKBUILD-EFI');
    expect(listing).toContain('Volume Serial Number is 4C4B-4531');
    expect(listing).toMatch(/^BOOTX64 +EFI +\d+ 1980-01-01 +0:00 *$/m);
    await execa('mcopy', ['-i', fat, '::/EFI/BOOT/BOOTX64.EFI', join(scratch, 'bootx64.efi')], { env });
    const pe = await readFile(join(scratch, 'bootx64.efi'));
    expect(pe.toString('latin1', 0, 2)).toBe('MZ');
    const peOffset = pe.readUInt32LE(0x3c);
    expect(pe.toString('latin1', peOffset, peOffset + 4)).toBe('PE\0\0');
    // The UKI carries the cmdline in its .cmdline section.
    expect(pe.includes(Buffer.from(`${cmdline}`))).toBe(true);
    expect(pe.includes(Buffer.from('.cmdline'))).toBe(true);
    expect(pe.includes(Buffer.from('.linux'))).toBe(true);
  });
});
