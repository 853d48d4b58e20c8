import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TAR_END, tarEntry } from './tar.js';

/**
 * Packs a directory as a reproducible tar layer: entries sorted by name, owners 0:0 and every
 * mtime set to `mtime`, so the same tree always gives the same bytes whoever built it.
 * Hard links within the tree are kept as tar hard links. File data streams one file at a time.
 */
export function tarFromDir(dir: string, mtime: number): Readable {
  return Readable.from(dirTar(dir, mtime));
}

async function* dirTar(dir: string, mtime: number): AsyncGenerator<Buffer> {
  const firstPath = new Map<string, string>();

  async function* walk(rel: string): AsyncGenerator<Buffer> {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, relPath);
      const st = await lstat(abs);
      const base = { name: relPath, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime };
      if (st.isDirectory()) {
        yield* tarEntry({ ...base, name: `${relPath}/`, type: 'dir' });
        yield* walk(relPath);
      } else if (st.isSymbolicLink()) {
        yield* tarEntry({ ...base, type: 'symlink', linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstPath.get(key) : undefined;
        if (first) {
          yield* tarEntry({ ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) firstPath.set(key, relPath);
        yield* tarEntry({ ...base, type: 'file', size: st.size }, st.size > 0 ? createReadStream(abs) : undefined);
      }
      // sockets and other special files have no place in an image and are left out
    }
  }

  yield* walk('');
  yield TAR_END;
}
