import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatContext } from './context.js';
import { fatEpoch, fatToolEnv, type FatFile, type FatImage } from './fat.js';
import { runTool } from '../util/host-tool.js';
import { stageKernelInitrd } from './kernel-initrd.js';

/**
 * SYSLINUX, the legacy BIOS boot loader of the raw-bios disk and of the aws disk's BIOS path
 * (ISOLINUX, its CD variant, boots iso-bios with the same configuration).
 */

/** Room ldlinux.sys and ldlinux.c32 take in the file system `syslinux --install` writes them to. */
export const SYSLINUX_SLACK = 512 * 1024;

/** The syslinux/isolinux configuration: boot the kernel and initrd at once with the build file's cmdline. */
export function syslinuxConfig(cmdline: string): string {
  const append = cmdline.replace(/\s+/g, ' ').trim();
  return [
    'DEFAULT linux',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL linux',
    '  LINUX /kernel',
    '  INITRD /initrd.img',
    `  APPEND ${append}`,
    '',
  ].join('\n');
}

/** Stages what a FAT file system booted by SYSLINUX holds at its root: kernel, initrd.img and syslinux.cfg. */
export async function stageSyslinuxFiles(ctx: FormatContext, dir: string, format: string): Promise<FatFile[]> {
  const { kernel, initrd } = await stageKernelInitrd(ctx, dir, format, fatEpoch(ctx.sourceDateEpoch));
  const cfg = join(dir, 'syslinux.cfg');
  await writeFile(cfg, syslinuxConfig(ctx.node.cmdline));
  return [
    { source: kernel, dest: 'kernel' },
    { source: initrd, dest: 'initrd.img' },
    { source: cfg, dest: 'syslinux.cfg' },
  ];
}

/**
 * Makes the FAT image bootable: syslinux writes ldlinux.sys and ldlinux.c32 through mtools
 * (dated SOURCE_DATE_EPOCH) and its boot code into the boot sector, keeping the BPB (whose
 * hidden-sectors field says where the partition starts).
 */
export async function installSyslinux(image: string, fat: FatImage, format: string, sourceDateEpoch: number): Promise<void> {
  await runTool('syslinux', ['--install', image], { user: `the ${format} format`, env: fatToolEnv(sourceDateEpoch) });
  if (fat.fatBits === 32) await copyBootSectorToBackup(image);
}

/**
 * FAT32 keeps a backup of its boot sector (at the sector the BPB names, 6 by mkfs.vfat); syslinux
 * writes its boot code into the primary only, which fsck.fat reports as a difference: copy it over.
 */
async function copyBootSectorToBackup(image: string): Promise<void> {
  const SECTOR = 512;
  const f = await open(image, 'r+');
  try {
    const bs = Buffer.alloc(SECTOR);
    await f.read(bs, 0, SECTOR, 0);
    const backup = bs.readUInt16LE(50);
    if (backup === 0 || backup === 0xffff) return;
    await f.write(bs, 0, SECTOR, backup * SECTOR);
  } finally {
    await f.close();
  }
}
