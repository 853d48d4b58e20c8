import { open, readFile, unlink } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { isProcessAlive } from '../util/process.js';

/**
 * An advisory lock held by creating `path` exclusively. Two lkbuild processes that share a cache
 * serialise their read-modify-write of index.json through it. A lock left by a dead process is
 * taken over, so a crashed build never wedges the cache.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await holderIsDead(path)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new LkError(
          'cache',
          `timed out waiting for the lock ${path}`,
          'another lkbuild process holds it; if none is running, remove the file',
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function holderIsDead(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
  return !isProcessAlive(pid);
}
