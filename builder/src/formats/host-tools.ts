import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { access, constants, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { AtomicOutputs } from './atomic-output.js';
import type { FormatContext } from './context.js';
import { writeInitrd } from './kernel-initrd.js';

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
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Tools that print or store local times see UTC; SOURCE_DATE_EPOCH comes from the caller.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', TZ: 'UTC', ...opts.env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new LkError('tool', `the ${opts.format} format needs ${tool}, which is not installed`, `install the Debian package ${pkg} on the build host`));
      } else reject(e);
    });
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new LkError('tool', `${tool} failed (exit ${code}) writing the ${opts.format} format:\n${out.trim()}`));
    });
  });
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
