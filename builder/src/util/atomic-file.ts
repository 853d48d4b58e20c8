import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A fresh temporary name in `dir`: ".tmp-<pid>-<random>", so that a cleaner can tell from the
 * name whether the process that writes it still runs.
 */
export function tempPathIn(dir: string): string {
  return join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * A file that appears whole or not at all: `write` fills a temporary file in `dir` (the same file
 * system as the target, so the rename is atomic) and returns the path to rename it to. On any
 * failure the temporary file is removed and the error passes on.
 */
export async function writeThenRename(dir: string, write: (temp: string) => Promise<string>): Promise<string> {
  const temp = tempPathIn(dir);
  try {
    const target = await write(temp);
    await rename(temp, target);
    return target;
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
}

/** `data` as the file `path`, whole or not at all. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await writeThenRename(dirname(path), async (temp) => {
    await writeFile(temp, data);
    return path;
  });
}
