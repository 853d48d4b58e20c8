import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { hostFiles, requireHostFile } from './host-tools.js';
import { writeIso } from './iso.js';
import { stageKernelInitrd } from './kernel-initrd.js';
import { syslinuxConfig } from './syslinux.js';

const FORMAT = 'iso-bios';

/**
 * iso-bios, NAME.iso: ISO 9660 (Rock Ridge) booting with ISOLINUX from a CD (El Torito, no
 * emulation) and, through the isohybrid MBR isohdpfx.bin, from a USB stick or disk.
 * Layout: /kernel, /initrd.img, /isolinux/{isolinux.bin,ldlinux.c32,isolinux.cfg,boot.cat}.
 */
export async function writeIsoBios(ctx: FormatContext, path: string): Promise<void> {
  const isolinuxBin = await requireHostFile(hostFiles.isolinuxBin, FORMAT);
  const isohdpfx = await requireHostFile(hostFiles.isohdpfx, FORMAT);
  const ldlinux = await requireHostFile(hostFiles.ldlinuxC32, FORMAT);
  await withScratch(async (dir) => {
    const root = join(dir, 'iso');
    await mkdir(join(root, 'isolinux'), { recursive: true });
    const staged = await stageKernelInitrd(ctx, dir, FORMAT, ctx.sourceDateEpoch);
    await rename(staged.kernel, join(root, 'kernel'));
    await rename(staged.initrd, join(root, 'initrd.img'));
    await copyFile(isolinuxBin, join(root, 'isolinux/isolinux.bin'));
    await copyFile(ldlinux, join(root, 'isolinux/ldlinux.c32'));
    await writeFile(join(root, 'isolinux/isolinux.cfg'), syslinuxConfig(ctx.node.cmdline));
    const bootArgs = [
      // bin_path=/isolinux/isolinux.bin, cat_path=/isolinux/boot.cat, 4 sectors loaded, boot info table.
      '-boot_image',
      'isolinux',
      'dir=/isolinux',
      '-boot_image',
      'isolinux',
      `system_area=${isohdpfx}`,
      '-boot_image',
      'isolinux',
      'partition_table=on',
    ];
    await writeIso(ctx, { format: FORMAT, dir, root, bootArgs, path });
  });
}
