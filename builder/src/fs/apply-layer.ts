import { pipeline, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { LkError } from '../errors.js';
import { type FsTree, normalizePath, parentOf, type EntryType } from './tree.js';
import type { DataRange, Spool } from './spool.js';

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

/**
 * What a layer tar does to a tree, in order, with paths relative to where it is applied: the
 * tar read once, then applied (or stored and applied again by a later build) without parsing it.
 */
export type LayerOp =
  /** An opaque marker: everything below `dir` goes. */
  | { op: 'clear'; dir: string }
  /** A whiteout: `path` and everything below it goes. */
  | { op: 'remove'; path: string }
  /** A hard link: a second entry sharing the data of `target`, which must be a file by then. */
  | { op: 'link'; path: string; target: string }
  /** A device node outside /dev, left out with a warning. */
  | { op: 'misplaced-device'; path: string; type: EntryType }
  | {
      op: 'set';
      path: string;
      type: EntryType;
      mode: number;
      uid: number;
      gid: number;
      xattrs?: Record<string, string>;
      linkname?: string;
      devmajor?: number;
      devminor?: number;
      /** A file's data, as a range of the spool it was read into. */
      data?: DataRange;
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
  applyLayerOps(tree, await readLayerOps(layerTar, spool), prefix, spool, source);
}

/** Reads a layer tar into the operations it stands for, its files' data into `spool`. */
export async function readLayerOps(layerTar: Readable, spool: Spool): Promise<LayerOp[]> {
  const extract = tar.extract();
  // One failure path: an error in the source (decompressor, file) or in tar parsing ends the
  // loop below; pipeline releases both streams when the loop stops early.
  let failure: Error | undefined;
  pipeline(layerTar, extract, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') failure = err;
  });
  const ops: LayerOp[] = [];
  try {
    for await (const entry of extract) {
      const op = await entryOp(entry, spool);
      if (op) ops.push(op);
    }
  } finally {
    layerTar.destroy();
  }
  if (failure) throw failure;
  return ops;
}

async function entryOp(
  entry: AsyncIterable<unknown> & { header: tar.Header; resume(): unknown },
  spool: Spool,
): Promise<LayerOp | undefined> {
  const h = entry.header;
  const path = normalizePath(h.name);
  const base = path.slice(path.lastIndexOf('/') + 1);
  const type = typeOf[h.type ?? 'file'];
  if (type === 'file' && !base.startsWith(whiteoutPrefix)) {
    const data = await spool.addRange(entry as AsyncIterable<Buffer>, h.size ?? 0);
    return { op: 'set', path, type, ...common(h), data };
  }
  entry.resume();
  if (base === opaqueMarker) return { op: 'clear', dir: parentOf(path) };
  if (base.startsWith(whiteoutPrefix)) {
    const victim = base.slice(whiteoutPrefix.length);
    if (victim.startsWith(whiteoutPrefix)) return undefined; // AUFS bookkeeping (.wh..wh.plnk, ...): nothing to delete
    if (victim === '' || victim === '.' || victim === '..') {
      throw new LkError('layer', `whiteout /${path} names no file of its directory`, 'the archive is malformed or malicious');
    }
    const dir = parentOf(path);
    return { op: 'remove', path: dir === '' ? victim : `${dir}/${victim}` };
  }
  // A hard link becomes a second entry sharing the same data: simpler than tracking inodes, same bytes on boot.
  if (h.type === 'link') return { op: 'link', path, target: normalizePath(h.linkname ?? '') };
  // pax headers and GNU extensions are consumed by tar-stream; anything else is ignored
  if (!type) return undefined;
  if (misplacedDevice(type, path)) return { op: 'misplaced-device', path, type };
  if (type === 'dir') return { op: 'set', path, type, ...common(h) };
  return { op: 'set', path, type, ...common(h), linkname: h.linkname ?? undefined, devmajor: h.devmajor, devminor: h.devminor };
}

function common(h: tar.Header): { mode: number; uid: number; gid: number; xattrs?: Record<string, string> } {
  const xattrs = paxXattrs(h.pax as Record<string, string> | null | undefined);
  return { mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, ...(xattrs ? { xattrs } : {}) };
}

/** Applies a layer's operations onto `tree` below `prefix`; file data is read from `spool` when the tree is written. */
export function applyLayerOps(tree: FsTree, ops: readonly LayerOp[], prefix: string, spool: Spool, source?: LayerSource): void {
  const root = normalizePath(prefix);
  const under = (p: string) => (root === '' ? p : p === '' ? root : `${root}/${p}`);
  for (const op of ops) {
    switch (op.op) {
      case 'clear':
        tree.clearDir(under(op.dir));
        break;
      case 'remove':
        tree.remove(under(op.path));
        break;
      case 'link': {
        const target = tree.get(under(op.target));
        if (target?.type !== 'file')
          throw new LkError('layer', `hard link /${op.path} points at "/${op.target}", which is not a file in this layer stack`);
        tree.set(under(op.path), { ...target });
        break;
      }
      case 'misplaced-device': {
        const warn = source?.warn ?? ((m: string) => process.stderr.write(`lkbuild: warning: ${m}\n`));
        warn(`${source?.image ?? 'a layer'}: left out the ${op.type} device /${op.path}: device nodes belong in /dev`);
        break;
      }
      case 'set': {
        const { op: _op, path, data, ...rest } = op;
        // Every key present, absent ones undefined: a directory a later layer sets again loses
        // what it had (xattrs too), whether the ops came from a tar or from the cache's JSON.
        const entry = { ...rest, xattrs: rest.xattrs, linkname: rest.linkname, devmajor: rest.devmajor, devminor: rest.devminor };
        const existing = tree.get(under(path));
        if (entry.type === 'dir' && existing?.type === 'dir') Object.assign(existing, entry);
        else tree.set(under(path), data ? { ...entry, content: spool.contentAt(data) } : entry);
        break;
      }
    }
  }
}

function paxXattrs(pax: Record<string, string> | null | undefined): Record<string, string> | undefined {
  if (!pax) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) if (k.startsWith('SCHILY.xattr.')) out[k.slice('SCHILY.xattr.'.length)] = v;
  return Object.keys(out).length ? out : undefined;
}
