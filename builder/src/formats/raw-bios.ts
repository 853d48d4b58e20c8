import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { makeFatImage } from './fat.js';
import { hostFiles, requireHostFile } from './host-tools.js';
import { mbr, SECTOR } from './mbr.js';
import { SYSLINUX_SLACK, installSyslinux, stageSyslinuxFiles } from './syslinux.js';

const FORMAT = 'raw-bios';
/** The FAT partition starts at 1 MiB, as partitioning tools align it. */
export const RAW_BIOS_START_LBA = 2048;
/** Fixed FAT serial number and MBR disk signature ("LKB1"): outputs do not vary between builds. */
export const RAW_BIOS_VOLUME_ID = 0x4c4b4231;
export const RAW_BIOS_LABEL = 'LKBUILD';

/**
 * raw-bios, NAME-bios.img: an MBR disk (syslinux's MBR boot code) with one bootable FAT
 * partition at 1 MiB holding the kernel, the initrd and syslinux.cfg, made bootable by
 * `syslinux --install`. The disk is streamed out as the MBR, the gap, then the partition image.
 */
export async function writeRawBios(ctx: FormatContext, path: string): Promise<void> {
  const mbrCode = await readFile(await requireHostFile(hostFiles.mbrBin, FORMAT));
  await withScratch(async (dir) => {
    const fat = join(dir, 'partition.img');
    const image = await makeFatImage(fat, {
      format: FORMAT,
      files: await stageSyslinuxFiles(ctx, dir, FORMAT),
      volumeId: RAW_BIOS_VOLUME_ID,
      label: RAW_BIOS_LABEL,
      sourceDateEpoch: ctx.sourceDateEpoch,
      hiddenSectors: RAW_BIOS_START_LBA,
      slack: SYSLINUX_SLACK,
    });
    await installSyslinux(fat, image, FORMAT, ctx.sourceDateEpoch);
    const head = Buffer.alloc(RAW_BIOS_START_LBA * SECTOR);
    mbr({
      bootCode: mbrCode.subarray(0, 440),
      diskSignature: RAW_BIOS_VOLUME_ID,
      partitions: [{ bootable: true, type: image.fatBits === 16 ? 0x0e : 0x0c, startLba: RAW_BIOS_START_LBA, sectors: image.sectors }],
    }).copy(head, 0);
    async function* disk(): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of createReadStream(fat)) yield chunk as Buffer;
    }
    await ctx.outputs.write(path, Readable.from(disk()));
  });
}
