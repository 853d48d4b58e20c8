/**
 * Verified, atomic downloads into the cache: the body streams into a temp file next to the final
 * name while its sha256 and size are computed; only a file that matches both is renamed into
 * place. A mismatch deletes the temp file. Two builds racing on one file both write their own
 * temp file and the second rename simply replaces identical content.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LkError } from '../../errors.js';
import { writeThenRename } from '../../util/atomic-file.js';
import { httpGet, type HttpOptions } from './http.js';

export interface Expected {
  sha256: string;
  size: number;
}

/** sha256 and size of a local file, streamed. */
export async function hashFile(path: string): Promise<Expected> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** True when `path` exists with exactly the expected size and sha256. */
export async function hasVerifiedFile(path: string, expected: Expected): Promise<boolean> {
  try {
    if ((await stat(path)).size !== expected.size) return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  return (await hashFile(path)).sha256 === expected.sha256;
}

/** Download `url` to `finalPath`, verified against `expected`. `what` names the file in errors. */
export async function downloadVerified(
  url: string,
  finalPath: string,
  expected: Expected,
  what: string,
  http?: HttpOptions,
): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  await writeThenRename(dirname(finalPath), async (temp) => {
    await httpGet(
      url,
      async (body) => {
        // Each attempt starts from an empty file ('w' truncates).
        const file = await open(temp, 'w');
        const hash = createHash('sha256');
        let size = 0;
        try {
          for await (const chunk of body) {
            size += chunk.length;
            if (size > expected.size) break; // no point reading further; reported below
            hash.update(chunk);
            await file.write(chunk);
          }
        } finally {
          await file.close();
        }
        const sha256 = size > expected.size ? '(not computed)' : hash.digest('hex');
        if (size !== expected.size || sha256 !== expected.sha256) {
          throw new LkError(
            'debian',
            `${what}: downloaded file does not match the signed index ` +
              `(size ${size > expected.size ? `> ${expected.size}` : size}, expected ${expected.size}; sha256 ${sha256}, expected ${expected.sha256})`,
            'the mirror served corrupt or tampered data and nothing was kept; retry, or use another mirror (LKBUILD_DEBIAN_MIRROR)',
          );
        }
      },
      http,
    );
    return finalPath;
  });
}
