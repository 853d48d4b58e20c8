import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeFatImage } from './fat-image.js';
import { hostFiles, requireHostFile, runTool, stageKernelInitrd, fatEpoch } from './host-tools.js';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { mbr, SECTOR } from './mbr.js';

const FORMAT = 'raw-bios';
/** The FAT partition starts at 1 MiB, as partitioning tools align it. */
export const RAW_BIOS_START_LBA = 2048;
/** Fixed FAT serial number and MBR disk signature ("LKB1"): outputs do not vary between builds. */
export const RAW_BIOS_VOLUME_ID = 0x4c4b4231;
export const RAW_BIOS_LABEL = 'LKBUILD';

/** The syslinux/isolinux configuration: boot the kernel and initrd at once with the build file's cmdline. */
export function syslinuxConfig(cmdline: string): string {
  const append = cmdline.replace(/\s+/g, ' ').trim();
  return ['DEFAULT linux', 'PROMPT 0', 'TIMEOUT 0', 'LABEL linux', '  LINUX /kernel', '  INITRD /initrd.img', `  APPEND ${append}`, ''].join('\n');
}

/**
 * raw-bios, NAME-bios.img: an MBR disk (syslinux's MBR boot code) with one bootable FAT partition at
 * 1 MiB holding the kernel, the initrd and syslinux.cfg, made bootable by `syslinux --install`.
 * The disk is streamed out as the MBR, the gap, then the partition image.
 */
export async function writeRawBios(ctx: FormatContext, path: string): Promise<void> {
  const mbrCode = await readFile(await requireHostFile(hostFiles.mbrBin, FORMAT));
  await withScratch(async (dir) => {
    const epoch = fatEpoch(ctx.sourceDateEpoch);
    const { kernel, initrd } = await stageKernelInitrd(ctx, dir, FORMAT, epoch);
    const cfg = join(dir, 'syslinux.cfg');
    await writeFile(cfg, syslinuxConfig(ctx.node.cmdline));
    const fat = join(dir, 'partition.img');
    const image = await makeFatImage(fat, {
      format: FORMAT,
      files: [
        { source: kernel, dest: 'kernel' },
        { source: initrd, dest: 'initrd.img' },
        { source: cfg, dest: 'syslinux.cfg' },
      ],
      volumeId: RAW_BIOS_VOLUME_ID,
      label: RAW_BIOS_LABEL,
      sourceDateEpoch: ctx.sourceDateEpoch,
      hiddenSectors: RAW_BIOS_START_LBA,
      slack: 512 * 1024, // ldlinux.sys and ldlinux.c32
    });
    // syslinux writes ldlinux.sys and ldlinux.c32 through mtools (dated SOURCE_DATE_EPOCH) and its boot sector.
    await runTool('syslinux', ['--install', fat], { format: FORMAT, env: { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: '1' } });
    const head = Buffer.alloc(RAW_BIOS_START_LBA * SECTOR);
    mbr({
      bootCode: mbrCode.subarray(0, 440),
      diskSignature: RAW_BIOS_VOLUME_ID,
      partitions: [{ bootable: true, type: image.fatBits === 16 ? 0x0e : 0x0c, startLba: RAW_BIOS_START_LBA, sectors: image.sectors }],
    }).copy(head, 0);
    const disk = Readable.from(
      (async function* () {
        yield head;
        for await (const chunk of createReadStream(fat)) yield chunk as Buffer;
      })(),
    );
    await ctx.outputs.write(path, disk);
  });
}
