import { Readable } from 'node:stream';
import { contentChangedSize, type Content, type FsEntry } from '../fs/tree.js';
import { hardLinkGroups } from './hard-links.js';

// File type bits of st_mode, as the kernel's initramfs unpacker reads them.
const typeBits: Record<FsEntry['type'], number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** One newc header plus the NUL-terminated name, padded to 4 bytes. */
export function newcHeader(
  name: string,
  fields: {
    ino: number;
    mode: number;
    uid: number;
    gid: number;
    nlink: number;
    mtime: number;
    size: number;
    rdevmajor?: number;
    rdevminor?: number;
  },
): Buffer {
  const nameBytes = Buffer.from(name + '\0');
  const header =
    '070701' +
    [
      fields.ino,
      fields.mode,
      fields.uid,
      fields.gid,
      fields.nlink,
      fields.mtime,
      fields.size,
      0,
      0,
      fields.rdevmajor ?? 0,
      fields.rdevminor ?? 0,
      nameBytes.length,
      0,
    ]
      .map(hex8)
      .join('');
  const head = Buffer.from(header, 'ascii');
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length))]);
}

/**
 * Streams a newc ("070701") cpio archive, the format the kernel unpacks as an initramfs.
 * Inode numbers are assigned in order and every mtime is `mtime`, so equal trees give equal bytes.
 * Files that share one Content with the same mode and owner (hard links in an image, or files the
 * assembler found identical) are written as hard links: one inode, the data once (archive/hard-links.ts).
 */
export function cpioStream(entries: Iterable<[string, FsEntry]>, mtime: number): Readable {
  return Readable.from(generate(entries, mtime), { objectMode: false });
}

/**
 * The same archive in blocks that each end at an entry's end, the first entry end at or after
 * `blockSize` bytes: the kernel unpacks a concatenation of separately compressed blocks only
 * when each holds whole entries. Where a block ends depends on the archive alone, so blocks
 * compressed apart (in parallel) still give the same bytes every time. A block holds at most
 * `blockSize` plus one entry in memory.
 */
export async function* cpioBlocks(entries: Iterable<[string, FsEntry]>, mtime: number, blockSize: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const entry of entryChunks(entries, mtime)) {
    for await (const chunk of entry) {
      parts.push(chunk);
      size += chunk.length;
    }
    if (size >= blockSize) {
      yield Buffer.concat(parts);
      [parts, size] = [[], 0];
    }
  }
  if (size > 0) yield Buffer.concat(parts);
}

async function* generate(entries: Iterable<[string, FsEntry]>, mtime: number): AsyncGenerator<Buffer> {
  for await (const entry of entryChunks(entries, mtime)) yield* entry;
}

/** Each entry of the archive (the trailer last) as the chunks of its header, data and padding. */
async function* entryChunks(entries: Iterable<[string, FsEntry]>, mtime: number): AsyncGenerator<AsyncGenerator<Buffer>> {
  const all = [...entries];
  // A link group shares one inode number; as GNU cpio writes them, only the last name carries the
  // data (the kernel links each later name to the first and appends what it brings).
  const links = hardLinkGroups(all);
  const linkIno = new Map<string, number>();
  let ino = 1;
  for (const [path, e] of all) {
    const group = links.get(path);
    let thisIno = ino++;
    if (group) {
      thisIno = linkIno.get(group.first) ?? thisIno;
      linkIno.set(group.first, thisIno);
    }
    const data = e.type === 'symlink' ? Buffer.from(e.linkname ?? '') : undefined;
    const carriesData = !group || group.last === path;
    const size = data ? data.length : e.type === 'file' && carriesData ? (e.content?.size ?? 0) : 0;
    const header = newcHeader(path, {
      ino: thisIno,
      mode: typeBits[e.type] | (e.mode & 0o7777),
      uid: e.uid,
      gid: e.gid,
      nlink: e.type === 'dir' ? 2 : (group?.count ?? 1),
      mtime,
      size,
      rdevmajor: e.devmajor,
      rdevminor: e.devminor,
    });
    const content = e.type === 'file' && size > 0 ? e.content : undefined;
    yield entryBytes(path, header, data, content, size);
  }
  yield entryBytes(
    'TRAILER!!!',
    newcHeader('TRAILER!!!', { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 }),
    undefined,
    undefined,
    0,
  );
}

async function* entryBytes(
  path: string,
  header: Buffer,
  data: Buffer | undefined,
  content: Content | undefined,
  size: number,
): AsyncGenerator<Buffer> {
  yield header;
  if (data) yield data;
  else if (content) yield* fileData(path, content, size);
  const padding = pad4(size);
  if (padding) yield Buffer.alloc(padding);
}

async function* fileData(path: string, content: Content, size: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of content.open()) {
    seen += (chunk as Buffer).length;
    if (seen > size) break;
    yield chunk as Buffer;
  }
  if (seen !== size) throw contentChangedSize(path, size, seen);
}
