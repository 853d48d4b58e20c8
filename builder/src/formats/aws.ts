import { readFile } from 'node:fs/promises';
import type { FormatContext } from './context.js';
import { hostFiles, requireHostFile } from './host-tools.js';
import { writeEfiDisk } from './raw-efi.js';

/**
 * aws: NAME.raw, a disk EC2 boots with legacy BIOS or with UEFI (which one depends on the
 * instance type). It is the raw-efi disk (GPT, one FAT32 ESP with the UKI as
 * EFI/BOOT/BOOTX64.EFI) whose ESP also holds the kernel, initrd.img and syslinux.cfg with
 * syslinux installed; the protective MBR's boot code is syslinux's gptmbr.bin, which boots the
 * GPT partition marked legacy BIOS bootable (the ESP). Both paths boot with the build file's
 * cmdline (EC2's serial console is ttyS0: give console=ttyS0 there). EC2 imports raw disks
 * through snapshot import, which takes any whole number of MiB.
 */
const FORMAT = 'aws';

export async function writeAws(ctx: FormatContext, path: string): Promise<void> {
  const mbrCode = await readFile(await requireHostFile(hostFiles.gptMbrBin, FORMAT));
  await writeEfiDisk(ctx, ctx.outputs, path, { format: FORMAT, bios: { mbrCode } });
}
