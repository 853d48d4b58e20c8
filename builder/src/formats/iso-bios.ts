import { copyFile, mkdir, readdir, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emitFile, hostFiles, requireHostFile, runTool, stageKernelInitrd } from './host-tools.js';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { syslinuxConfig } from './raw-bios.js';

const FORMAT = 'iso-bios';
export const ISO_VOLUME_ID = 'LKBUILD';

/** xorriso's 16-digit "uuid" volume date (YYYYMMDDhhmmsscc, GMT) for an epoch in seconds. */
export function isoUuidDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/**
 * xorriso arguments that make an ISO reproducible from the tree at `root`: every date (volume
 * dates, file dates, the boot catalog's, the isohybrid MBR id derived from "uuid") is the
 * epoch, the volume id is fixed, and owners and modes do not depend on who builds.
 */
export function xorrisoReproducible(root: string, out: string, epoch: number): string[] {
  const e = Math.max(0, Math.floor(epoch));
  return [
    '-no_rc',
    '-report_about', 'SORRY',
    '-outdev', out,
    '-volid', ISO_VOLUME_ID,
    '-joliet', 'off',
    '-rockridge', 'on',
    '-volume_date', 'uuid', isoUuidDate(e),
    // The tree is dated to the epoch (dateTree); atime and ctime follow mtime.
    '-volume_date', 'all_file_dates', 'set_to_mtime',
    '-iso_nowtime', `=${e}`,
    '-map', root, '/',
    '-chown_r', '0', '/', '--',
    '-chgrp_r', '0', '/', '--',
    '-chmod_r', '0644', '/', '--',
    '-find', '/', '-type', 'd', '-exec', 'chmod', '0755', '--',
  ];
}

/**
 * Dates every file and directory under `root` (and root itself) to the epoch. xorriso's
 * all_file_dates with a time ignores epoch 0 and misses directories, so the tree carries the
 * dates and xorriso copies them (set_to_mtime).
 */
export async function dateTree(root: string, epoch: number): Promise<void> {
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) await dateTree(p, epoch);
    else await utimes(p, epoch, epoch);
  }
  await utimes(root, epoch, epoch);
}

/** Runs xorriso with SOURCE_DATE_EPOCH set too (it then also fixes what no option names). */
export async function runXorriso(format: string, args: string[], epoch: number): Promise<void> {
  await runTool('xorriso', args, { format, env: { SOURCE_DATE_EPOCH: String(Math.max(0, Math.floor(epoch))) } });
}

/**
 * iso-bios, NAME.iso: ISO 9660 (Rock Ridge) booting with ISOLINUX from a CD (El Torito, no emulation)
 * and, through the isohybrid MBR isohdpfx.bin, from a USB stick or disk.
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
    await dateTree(root, ctx.sourceDateEpoch);
    const out = join(dir, 'out.iso');
    await runXorriso(
      FORMAT,
      [
        ...xorrisoReproducible(root, out, ctx.sourceDateEpoch),
        // bin_path=/isolinux/isolinux.bin, cat_path=/isolinux/boot.cat, 4 sectors loaded, boot info table.
        '-boot_image', 'isolinux', 'dir=/isolinux',
        '-boot_image', 'isolinux', `system_area=${isohdpfx}`,
        '-boot_image', 'isolinux', 'partition_table=on',
      ],
      ctx.sourceDateEpoch,
    );
    await emitFile(ctx, out, path);
  });
}
