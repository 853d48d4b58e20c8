import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { LkError } from '../errors.js';
import { runCaptured } from './run.js';

/**
 * The host programs lkbuild runs (formats, signing, `run qemu`), with the Debian package that
 * provides each: a missing one fails with the package to install.
 */
const toolPackages = {
  xorriso: 'xorriso',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mlabel: 'mtools',
  syslinux: 'syslinux',
  'qemu-img': 'qemu-utils',
  osslsigncode: 'osslsigncode',
  mksquashfs: 'squashfs-tools',
  mkfifo: 'coreutils',
} as const;

export type HostTool = keyof typeof toolPackages;

/** Who needs the tool, for the messages ("the iso format", "--disk"), and extra environment. */
export interface ToolUse {
  user: string;
  env?: Record<string, string>;
  /** Streamed to the tool's stdin (mksquashfs reads the root as a tar there). */
  input?: Readable;
}

function missingTool(tool: HostTool, user: string): LkError {
  return new LkError(
    'tool',
    `${user} needs ${tool}, which is not installed`,
    `install the Debian package ${toolPackages[tool]} on the build host`,
  );
}

/** Fails, naming the Debian package to install, unless `tool` is on the PATH: for a check before costly work. */
export async function requireTool(tool: HostTool, user: string): Promise<void> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (
      await access(join(dir, tool), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return;
  }
  throw missingTool(tool, user);
}

/**
 * Runs a host tool and returns its stdout without the final newline; fails with its output, or
 * with the Debian package to install if it is missing.
 */
export async function runTool(tool: HostTool, args: string[], use: ToolUse): Promise<string> {
  // Tools that print or store local times see UTC; SOURCE_DATE_EPOCH comes from the caller.
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', TZ: 'UTC', ...use.env };
  const r = await runCaptured(tool, args, { env, extendEnv: false, input: use.input });
  if (r.notInstalled) throw missingTool(tool, use.user);
  if (r.exitCode !== 0) throw new LkError('tool', `${tool} failed (exit ${r.exitCode ?? r.signal}) for ${use.user}:\n${r.all.trim()}`);
  return r.stdout.toString('utf8').replace(/\n$/, '');
}
