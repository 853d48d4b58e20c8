import { pipeline, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { LkError } from '../errors.js';
import { type FsTree, normalizePath, parentOf, type EntryType } from './tree.js';
import type { Spool } from './spool.js';

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';

const typeOf: Record<string, EntryType | undefined> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** Who a layer comes from, for warnings, and where they go (stderr by default). */
export interface LayerSource {
  image: string;
  warn?: (message: string) => void;
}

/** Device nodes belong in /dev only: one elsewhere in an image (a mode-0666 block node, say) reaches host devices. */
function misplacedDevice(type: EntryType, path: string): boolean {
  return (type === 'char' || type === 'block') && !path.startsWith('dev/');
}

/**
 * Applies one uncompressed layer tar onto `tree` below `prefix`, with OCI whiteout semantics.
 * Every path is confined to the prefix: '..' and writes through symlinks are refused.
 * Device nodes outside /dev are left out, with a warning naming the image.
 */
export async function applyLayer(tree: FsTree, layerTar: Readable, prefix: string, spool: Spool, source?: LayerSource): Promise<void> {
  const root = normalizePath(prefix);
  const under = (p: string) => (root === '' ? p : p === '' ? root : `${root}/${p}`);
  const extract = tar.extract();
  // One failure path: an error in the source (decompressor, file) or in tar parsing ends the
  // loop below; pipeline releases both streams when the loop stops early.
  let failure: Error | undefined;
  pipeline(layerTar, extract, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') failure = err;
  });
  try {
    await applyEntries(extract, tree, under, spool, source);
  } finally {
    layerTar.destroy();
  }
  if (failure) throw failure;
}

async function applyEntries(
  extract: tar.Extract,
  tree: FsTree,
  under: (p: string) => string,
  spool: Spool,
  source?: LayerSource,
): Promise<void> {
  for await (const entry of extract) {
    const h = entry.header;
    const path = normalizePath(h.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === opaqueMarker) {
      tree.clearDir(under(parentOf(path)));
      entry.resume();
      continue;
    }
    if (base.startsWith(whiteoutPrefix)) {
      const dir = parentOf(path);
      const victim = base.slice(whiteoutPrefix.length);
      if (victim.startsWith(whiteoutPrefix)) {
        entry.resume(); // AUFS bookkeeping (.wh..wh.plnk, ...): nothing to delete
        continue;
      }
      if (victim === '' || victim === '.' || victim === '..') {
        throw new LkError('layer', `whiteout /${path} names no file of its directory`, 'the archive is malformed or malicious');
      }
      tree.remove(under(dir === '' ? victim : `${dir}/${victim}`));
      entry.resume();
      continue;
    }
    const common = {
      mode: (h.mode ?? 0o644) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      xattrs: paxXattrs(h.pax as Record<string, string> | null | undefined),
    };
    if (h.type === 'link') {
      // A hard link becomes a second entry sharing the same data: simpler than tracking inodes, same bytes on boot.
      const target = tree.get(under(normalizePath(h.linkname ?? '')));
      if (target?.type !== 'file')
        throw new LkError('layer', `hard link /${path} points at "${h.linkname}", which is not a file in this layer stack`);
      tree.set(under(path), { ...target });
      entry.resume();
      continue;
    }
    const type = typeOf[h.type ?? 'file'];
    if (!type) {
      entry.resume(); // pax headers and GNU extensions are consumed by tar-stream; anything else is ignored
      continue;
    }
    if (type === 'file') {
      const content = await spool.add(entry as AsyncIterable<Buffer>, h.size ?? 0);
      tree.set(under(path), { type, ...common, content });
      continue;
    }
    entry.resume();
    if (misplacedDevice(type, path)) {
      const warn = source?.warn ?? ((m: string) => process.stderr.write(`lkbuild: warning: ${m}\n`));
      warn(`${source?.image ?? 'a layer'}: left out the ${type} device /${path}: device nodes belong in /dev`);
      continue;
    }
    if (type === 'dir') {
      const existing = tree.get(under(path));
      if (existing?.type === 'dir') Object.assign(existing, { type, ...common });
      else tree.set(under(path), { type, ...common });
    } else {
      tree.set(under(path), { type, ...common, linkname: h.linkname ?? undefined, devmajor: h.devmajor, devminor: h.devminor });
    }
  }
}

function paxXattrs(pax: Record<string, string> | null | undefined): Record<string, string> | undefined {
  if (!pax) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) if (k.startsWith('SCHILY.xattr.')) out[k.slice('SCHILY.xattr.'.length)] = v;
  return Object.keys(out).length ? out : undefined;
}
