import type { LayerOp } from '../fs/apply-layer.js';
import type { DataRange } from '../fs/spool.js';
import { normalizePath, type EntryType } from '../fs/tree.js';

/**
 * The cache's file for one unpacked layer: its files' data, one after another, then an index
 * (JSON: the layer's operations, each file a range of the data), then a 32-byte trailer:
 * "LKUNPACK", the format version (u32 LE), 4 zero bytes, the index's offset and its length
 * (u64 LE each). The index comes last because it is known only once the tar has been read.
 */
const MAGIC = 'LKUNPACK';
const VERSION = 1;
export const TRAILER_BYTES = 32;

/** The index and trailer to append after `dataBytes` bytes of data. */
export function encodeLayerIndex(ops: readonly LayerOp[], dataBytes: number): Buffer[] {
  const index = Buffer.from(JSON.stringify({ ops }));
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.write(MAGIC, 0, 'latin1');
  trailer.writeUInt32LE(VERSION, 8);
  trailer.writeBigUInt64LE(BigInt(dataBytes), 16);
  trailer.writeBigUInt64LE(BigInt(index.length), 24);
  return [index, trailer];
}

/**
 * The operations of a file of `fileSize` bytes whose last TRAILER_BYTES are `trailer`, reading
 * its index through `readAt`. Anything that does not fit the format exactly is an error: the
 * file is then unpacked again rather than trusted.
 */
export async function decodeLayerIndex(
  trailer: Buffer,
  fileSize: number,
  readAt: (offset: number, length: number) => Promise<Buffer>,
): Promise<LayerOp[]> {
  if (trailer.length !== TRAILER_BYTES || trailer.toString('latin1', 0, 8) !== MAGIC) throw new Error('no trailer');
  if (trailer.readUInt32LE(8) !== VERSION) throw new Error(`format version ${trailer.readUInt32LE(8)}, not ${VERSION}`);
  const dataBytes = Number(trailer.readBigUInt64LE(16));
  const indexBytes = Number(trailer.readBigUInt64LE(24));
  if (dataBytes + indexBytes + TRAILER_BYTES !== fileSize) throw new Error('sizes in the trailer do not add up to the file');
  const index = JSON.parse((await readAt(dataBytes, indexBytes)).toString('utf8')) as { ops?: unknown };
  if (!Array.isArray(index?.ops)) throw new Error('no operations in the index');
  return index.ops.map((op, i) => checkOp(op, dataBytes, i));
}

const entryTypes = new Set<EntryType>(['file', 'dir', 'symlink', 'char', 'block', 'fifo']);

function checkOp(value: unknown, dataBytes: number, i: number): LayerOp {
  const bad = (what: string) => new Error(`operation ${i}: ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const op = value as Record<string, unknown>;
  const path = (key: string) => {
    const p = op[key];
    if (typeof p !== 'string' || normalizePath(p) !== p) throw bad(`${key} is not a normalized path`);
  };
  switch (op.op) {
    case 'clear':
      path('dir');
      break;
    case 'remove':
      path('path');
      break;
    case 'link':
      path('path');
      path('target');
      break;
    case 'misplaced-device':
      path('path');
      if (!entryTypes.has(op.type as EntryType)) throw bad('unknown type');
      break;
    case 'set':
      path('path');
      checkEntry(op, dataBytes, bad);
      break;
    default:
      throw bad('unknown operation');
  }
  return op as LayerOp;
}

function checkEntry(op: Record<string, unknown>, dataBytes: number, bad: (what: string) => Error): void {
  const count = (v: unknown, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
  if (!entryTypes.has(op.type as EntryType)) throw bad('unknown type');
  if (!count(op.mode, 0o7777) || !count(op.uid) || !count(op.gid)) throw bad('mode, uid or gid out of range');
  if (op.linkname !== undefined && typeof op.linkname !== 'string') throw bad('linkname is not a string');
  if ((op.devmajor !== undefined && !count(op.devmajor)) || (op.devminor !== undefined && !count(op.devminor)))
    throw bad('device numbers out of range');
  if (op.xattrs !== undefined) {
    const x = op.xattrs;
    if (typeof x !== 'object' || x === null || Object.values(x).some((v) => typeof v !== 'string')) throw bad('xattrs are not strings');
  }
  if ((op.type === 'file') !== (op.data !== undefined)) throw bad('a file without data, or data without a file');
  if (op.data !== undefined) {
    const d = op.data as Partial<DataRange>;
    if (!count(d.offset) || !count(d.size) || d.offset! + d.size! > dataBytes) throw bad('data outside the file');
    if (typeof d.digest !== 'string' || !/^[0-9a-f]{64}$/.test(d.digest)) throw bad('data digest is not sha256 hex');
  }
}
