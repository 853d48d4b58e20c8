import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

/**
 * Packs a directory as a reproducible tar layer: entries sorted by name, owners 0:0 and every
 * mtime set to `mtime`, so the same tree always gives the same bytes whoever built it.
 * Hard links within the tree are kept as tar hard links.
 */
export function tarFromDir(dir: string, mtime: number): Readable {
  const pack = tar.pack();
  const when = new Date(mtime * 1000);
  const seen = new Map<string, string>();

  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, relPath);
      const st = await lstat(abs);
      const base = { name: relPath, mode: st.mode & 0o7777, uid: 0, gid: 0, uname: '', gname: '', mtime: when };
      if (st.isDirectory()) {
        await entry({ ...base, name: relPath + '/', type: 'directory' });
        await walk(relPath);
      } else if (st.isSymbolicLink()) {
        await entry({ ...base, type: 'symlink', linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seen.get(key) : undefined;
        if (first) {
          await entry({ ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) seen.set(key, relPath);
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
          pipeline(createReadStream(abs), sink).catch(reject);
        });
      }
      // sockets and other special files have no place in an image and are left out
    }
  }

  function entry(header: Parameters<tar.Pack['entry']>[0]): Promise<void> {
    return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
  }

  walk('').then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  return Readable.from(pack as AsyncIterable<Buffer>);
}
