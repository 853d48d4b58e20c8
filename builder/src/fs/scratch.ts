import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LkError, writeError } from '../errors.js';

/** Where lkbuild keeps its temporary files: $LKBUILD_TMPDIR if set, else the system's temporary directory. */
export function scratchParent(env: NodeJS.ProcessEnv = process.env): string {
  return env.LKBUILD_TMPDIR || tmpdir();
}

/** A new private directory under scratchParent(), its name starting with `prefix`. */
export async function makeScratchDir(prefix: string): Promise<string> {
  const parent = scratchParent();
  try {
    return await mkdtemp(join(parent, prefix));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new LkError(
        'io',
        `cannot make a temporary directory in ${parent}: it is not a directory`,
        'create it, or point LKBUILD_TMPDIR at an existing directory',
        { cause: e },
      );
    }
    throw writeError(e, 'a temporary directory in', parent, 'point LKBUILD_TMPDIR at a writable directory with free space');
  }
}

/** Runs fn with a private scratch directory (see makeScratchDir) that is removed afterwards, whatever fn does. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>, prefix = 'lkbuild-format-'): Promise<T> {
  const dir = await makeScratchDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
