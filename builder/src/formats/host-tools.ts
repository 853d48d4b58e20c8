import { access, constants } from 'node:fs/promises';
import { LkError } from '../errors.js';

/**
 * Host files the disk and ISO formats use, with the Debian package that provides each: a missing
 * one fails with the package to install. The host programs are in util/host-tool.ts.
 */
export const hostFiles = {
  isolinuxBin: { path: '/usr/lib/ISOLINUX/isolinux.bin', pkg: 'isolinux' },
  isohdpfx: { path: '/usr/lib/ISOLINUX/isohdpfx.bin', pkg: 'isolinux' },
  ldlinuxC32: { path: '/usr/lib/syslinux/modules/bios/ldlinux.c32', pkg: 'syslinux-common' },
  mbrBin: { path: '/usr/lib/syslinux/mbr/mbr.bin', pkg: 'syslinux-common' },
  gptMbrBin: { path: '/usr/lib/syslinux/mbr/gptmbr.bin', pkg: 'syslinux-common' },
  efiStub: { path: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub', pkg: 'systemd-boot-efi' },
} as const;

export async function requireHostFile(f: { path: string; pkg: string }, format: string): Promise<string> {
  try {
    await access(f.path, constants.R_OK);
  } catch {
    throw new LkError(
      'tool',
      `the ${format} format needs ${f.path}, which is missing`,
      `install the Debian package ${f.pkg} on the build host`,
    );
  }
  return f.path;
}
