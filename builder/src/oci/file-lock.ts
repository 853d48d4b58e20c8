import { open, readFile, unlink } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { isProcessAlive } from '../util/process.js';

/** Per lock path, the turn of the last caller in this process (see withFileLock). */
const turns = new Map<string, Promise<void>>();

/**
 * An advisory lock held by creating `path` exclusively. Two lkbuild processes that share a cache
 * serialise their read-modify-write of index.json through it. A lock left by a dead process is
 * taken over, so a crashed build never wedges the cache. `onWait` hears each time it finds the
 * lock held, with the holder's pid (NaN while the holder is still writing it). Callers within one
 * process take turns in a queue before they touch the file: polling it against each other
 * (backing off up to 200 ms) would cost a pull of several images more than its downloads.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 60_000,
  onWait?: (holder: number) => void,
): Promise<T> {
  const before = turns.get(path) ?? Promise.resolve();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const turn = before.then(() => finished);
  turns.set(path, turn);
  try {
    await before;
    return await holdFileLock(path, fn, timeoutMs, onWait);
  } finally {
    done();
    if (turns.get(path) === turn) turns.delete(path);
  }
}

async function holdFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs: number, onWait?: (holder: number) => void): Promise<T> {
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
      const holder = await lockHolder(path);
      if (holder > 0 && !isProcessAlive(holder)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      onWait?.(holder);
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

/** The pid in the lock file; NaN while it is being written. */
async function lockHolder(path: string): Promise<number> {
  const pid = Number(await readFile(path, 'utf8').catch(() => ''));
  return Number.isInteger(pid) && pid > 0 ? pid : Number.NaN;
}
