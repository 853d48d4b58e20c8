import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { makeFatImage } from './fat.js';
import { writeIso } from './iso.js';
import { stageUki } from './uki.js';

const FORMAT = 'iso-efi';
/** Fixed serial number of the EFI system partition image ("LKE1"). */
export const ISO_EFI_VOLUME_ID = 0x4c4b4531;
export const ISO_EFI_LABEL = 'LKBUILD-EFI';
/** El Torito's load size is a 16-bit count of 512-byte sectors. */
const EL_TORITO_MAX = 65535 * 512;

/**
 * iso-efi, NAME-efi.iso: ISO 9660 whose El Torito EFI boot image (platform 0xef, no emulation)
 * is a FAT file system holding the node's UKI as EFI/BOOT/BOOTX64.EFI, the removable-media path
 * UEFI firmware boots. The FAT image is also visible in the ISO as /efi/efiboot.img.
 */
export async function writeIsoEfi(ctx: FormatContext, path: string): Promise<void> {
  await withScratch(async (dir) => {
    const uki = await stageUki(ctx, join(dir, 'BOOTX64.EFI'), FORMAT);
    const root = join(dir, 'iso');
    await mkdir(join(root, 'efi'), { recursive: true });
    const fat = join(root, 'efi/efiboot.img');
    await makeFatImage(fat, {
      format: FORMAT,
      files: [{ source: uki, dest: 'EFI/BOOT/BOOTX64.EFI' }],
      volumeId: ISO_EFI_VOLUME_ID,
      label: ISO_EFI_LABEL,
      sourceDateEpoch: ctx.sourceDateEpoch,
    });
    const size = (await stat(fat)).size;
    if (size > EL_TORITO_MAX) {
      throw new LkError(
        'format',
        `the iso-efi boot image would be ${Math.ceil(size / 1048576)} MiB; El Torito boot images are limited to 32 MiB`,
        'make the initrd smaller (fewer or smaller images), or use the uki or raw-efi formats',
      );
    }
    const bootArgs = ['-boot_image', 'any', 'cat_path=/efi/boot.cat', '-boot_image', 'any', 'efi_path=/efi/efiboot.img'];
    await writeIso(ctx, { format: FORMAT, dir, root, bootArgs, path });
  });
}
