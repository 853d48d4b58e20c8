import { createReadStream } from 'node:fs';
import { access, constants, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { AtomicOutputs } from './atomic-output.js';
import { writeInitrd, type FormatContext } from './kernel-initrd.js';
import { runCaptured } from '../util/run.js';

/**
 * Host tools and files the disk and ISO formats use, with the Debian package that provides each:
 * a missing one fails with the package to install.
 */
export const hostFiles = {
  isolinuxBin: { path: '/usr/lib/ISOLINUX/isolinux.bin', pkg: 'isolinux' },
  isohdpfx: { path: '/usr/lib/ISOLINUX/isohdpfx.bin', pkg: 'isolinux' },
  ldlinuxC32: { path: '/usr/lib/syslinux/modules/bios/ldlinux.c32', pkg: 'syslinux-common' },
  mbrBin: { path: '/usr/lib/syslinux/mbr/mbr.bin', pkg: 'syslinux-common' },
  gptMbrBin: { path: '/usr/lib/syslinux/mbr/gptmbr.bin', pkg: 'syslinux-common' },
  efiStub: { path: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub', pkg: 'systemd-boot-efi' },
} as const;

const toolPackages: Record<string, string> = {
  xorriso: 'xorriso',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mlabel: 'mtools',
  syslinux: 'syslinux',
  objcopy: 'binutils',
  objdump: 'binutils',
};

export async function requireHostFile(f: { path: string; pkg: string }, format: string): Promise<string> {
  try {
    await access(f.path, constants.R_OK);
  } catch {
    throw new LkError('tool', `the ${format} format needs ${f.path}, which is missing`, `install the Debian package ${f.pkg} on the build host`);
  }
  return f.path;
}

/** Runs a host tool; fails with its output, or with the Debian package to install if it is missing. */
export async function runTool(
  tool: string,
  args: string[],
  opts: { format: string; env?: Record<string, string>; cwd?: string },
): Promise<string> {
  const pkg = toolPackages[tool] ?? tool;
  // Tools that print or store local times see UTC; SOURCE_DATE_EPOCH comes from the caller.
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', TZ: 'UTC', ...opts.env };
  const r = await runCaptured(tool, args, { cwd: opts.cwd, env, extendEnv: false });
  if (r.notInstalled) throw new LkError('tool', `the ${opts.format} format needs ${tool}, which is not installed`, `install the Debian package ${pkg} on the build host`);
  if (r.exitCode !== 0) throw new LkError('tool', `${tool} failed (exit ${r.exitCode ?? r.signal}) writing the ${opts.format} format:\n${r.all.trim()}`);
  return r.all;
}

/** Runs fn with a private scratch directory that is removed afterwards. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lkbuild-format-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes the node's kernel and initrd as plain files (for tools that read files), with their
 * modification times set to `mtime` (seconds). Returns their paths.
 */
export async function stageKernelInitrd(
  ctx: FormatContext,
  dir: string,
  format: string,
  mtime: number,
): Promise<{ kernel: string; initrd: string }> {
  if (!ctx.node.kernel) throw new LkError('format', `the ${format} format needs a kernel: the build file has no kernel section`);
  const staging = new AtomicOutputs();
  const kernel = join(dir, 'kernel');
  const initrd = join(dir, 'initrd.img');
  try {
    await staging.write(kernel, ctx.node.kernel.open());
    await writeInitrd({ ...ctx, outputs: staging }, initrd);
    await staging.commit();
  } catch (e) {
    await staging.abort();
    throw e;
  }
  for (const p of [kernel, initrd]) await utimes(p, mtime, mtime);
  return { kernel, initrd };
}

/** Streams a finished scratch file into the build's atomic outputs. */
export async function emitFile(ctx: FormatContext, scratchPath: string, finalPath: string): Promise<void> {
  await ctx.outputs.write(finalPath, createReadStream(scratchPath));
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** FAT stores local times from 1980 to 2107 with 2-second resolution: the epoch, clamped and rounded down to even seconds. */
export function fatEpoch(sourceDateEpoch: number): number {
  const min = 315532800; // 1980-01-01T00:00:00Z
  const max = 4354819198; // 2107-12-31T23:59:58Z
  const t = Math.min(Math.max(sourceDateEpoch, min), max);
  return t - (t % 2);
}
