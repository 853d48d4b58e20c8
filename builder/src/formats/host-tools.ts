import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { LkError } from '../errors.js';
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

const toolPackages = {
  xorriso: 'xorriso',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mlabel: 'mtools',
  syslinux: 'syslinux',
  'qemu-img': 'qemu-utils',
  osslsigncode: 'osslsigncode',
} as const;

export type HostTool = keyof typeof toolPackages;

function missingTool(tool: HostTool, format: string): LkError {
  return new LkError('tool', `the ${format} format needs ${tool}, which is not installed`, `install the Debian package ${toolPackages[tool]} on the build host`);
}

/** Fails, naming the Debian package to install, unless `tool` is on the PATH: for a check before costly work. */
export async function requireTool(tool: HostTool, format: string): Promise<void> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (await access(join(dir, tool), constants.X_OK).then(() => true, () => false)) return;
  }
  throw missingTool(tool, format);
}

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
  tool: HostTool,
  args: string[],
  opts: { format: string; env?: Record<string, string> },
): Promise<string> {
  // Tools that print or store local times see UTC; SOURCE_DATE_EPOCH comes from the caller.
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', TZ: 'UTC', ...opts.env };
  const r = await runCaptured(tool, args, { env, extendEnv: false });
  if (r.notInstalled) throw missingTool(tool, opts.format);
  if (r.exitCode !== 0) throw new LkError('tool', `${tool} failed (exit ${r.exitCode ?? r.signal}) writing the ${opts.format} format:\n${r.all.trim()}`);
  return r.all;
}
