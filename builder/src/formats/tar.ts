import { Readable } from 'node:stream';
import type { FsEntry } from '../fs/tree.js';
import { hardLinkGroups } from '../archive/hard-links.js';
import type { FormatContext } from './context.js';
import { TAR_END, tarEntry, type TarType } from '../archive/tar.js';

/**
 * tar: the node's root filesystem, the same tree the initrd holds, as NAME.tar. Entries are in
 * the tree's archive order (parents first, siblings sorted), owners numeric, every mtime is
 * SOURCE_DATE_EPOCH, and file data is streamed from the spool one file at a time.
 *
 * Hard links from images are tar hard links again (archive/hard-links.ts).
 * Extended attributes are left out, as they are from the initrd.
 */

const tarTypes: Record<FsEntry['type'], TarType> = {
  file: 'file',
  dir: 'dir',
  symlink: 'symlink',
  char: 'char',
  block: 'block',
  fifo: 'fifo',
};

export async function* rootfsTar(entries: Iterable<[string, FsEntry]>, mtime: number): AsyncGenerator<Buffer> {
  const all = [...entries];
  const links = hardLinkGroups(all);
  for (const [path, e] of all) {
    const base = { mode: e.mode, uid: e.uid, gid: e.gid, mtime };
    if (e.type === 'file' && e.content) {
      const first = links.get(path)?.first;
      if (first !== undefined && first !== path) {
        yield* tarEntry({ ...base, name: path, type: 'link', linkname: first });
        continue;
      }
      yield* tarEntry({ ...base, name: path, type: 'file', size: e.content.size }, e.content.size > 0 ? e.content.open() : undefined);
      continue;
    }
    yield* tarEntry({
      ...base,
      name: e.type === 'dir' ? `${path}/` : path,
      type: tarTypes[e.type],
      size: 0,
      linkname: e.type === 'symlink' ? (e.linkname ?? '') : undefined,
      devmajor: e.devmajor,
      devminor: e.devminor,
    });
  }
  yield TAR_END;
}

/** The tar format: NAME.tar. */
export async function writeTar(ctx: FormatContext, path: string): Promise<void> {
  await ctx.outputs.write(path, Readable.from(rootfsTar(ctx.node.tree.sorted(), ctx.sourceDateEpoch)));
}
