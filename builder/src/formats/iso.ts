import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatContext } from './context.js';
import { runTool } from '../util/host-tool.js';

/** ISO 9660 images made reproducibly by xorriso from a staged tree: iso-bios and iso-efi. */

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
    '-report_about',
    'SORRY',
    '-outdev',
    out,
    '-volid',
    ISO_VOLUME_ID,
    '-joliet',
    'off',
    '-rockridge',
    'on',
    '-volume_date',
    'uuid',
    isoUuidDate(e),
    // The tree is dated to the epoch (dateTree); atime and ctime follow mtime.
    '-volume_date',
    'all_file_dates',
    'set_to_mtime',
    '-iso_nowtime',
    `=${e}`,
    '-map',
    root,
    '/',
    '-chown_r',
    '0',
    '/',
    '--',
    '-chgrp_r',
    '0',
    '/',
    '--',
    '-chmod_r',
    '0644',
    '/',
    '--',
    '-find',
    '/',
    '-type',
    'd',
    '-exec',
    'chmod',
    '0755',
    '--',
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

/**
 * Makes the ISO of the tree at `root` with the boot options `bootArgs` in the scratch directory
 * `dir` and writes it to `path` through the build's outputs. xorriso runs with
 * SOURCE_DATE_EPOCH set too (it then also fixes what no option names).
 */
export async function writeIso(
  ctx: FormatContext,
  o: { format: string; dir: string; root: string; bootArgs: string[]; path: string },
): Promise<void> {
  const epoch = Math.max(0, Math.floor(ctx.sourceDateEpoch));
  await dateTree(o.root, ctx.sourceDateEpoch);
  const out = join(o.dir, 'out.iso');
  await runTool('xorriso', [...xorrisoReproducible(o.root, out, epoch), ...o.bootArgs], {
    user: `the ${o.format} format`,
    env: { SOURCE_DATE_EPOCH: String(epoch) },
  });
  await ctx.outputs.writeFrom(o.path, out);
}
