/**
 * The one tar writer: small, reproducible POSIX tar (ustar), streamed entry by entry. The tar
 * output formats and the layers of recipe images are written with it.
 *
 * Every field is written by us, so the bytes depend only on the entries: no user or group
 * names, no host times, numeric owners. What ustar cannot hold (a path over 255 bytes, a link
 * target over 100, non-ASCII names, ids above 0o7777777, sizes of 8 GiB and more) goes into a
 * pax extended header ('x') in front of the entry, named after it so the archive stays
 * deterministic.
 */

import { contentChangedSize } from '../fs/tree.js';

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** Path inside the archive, without a leading '/'; directories get their trailing '/' here. */
  name: string;
  type: TarType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (files only). */
  size?: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;
const typeflags: Record<TarType | 'pax', string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  pax: 'x',
};

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that round `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Largest value an octal field of `width` bytes holds (width - 1 digits and a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const v = Math.min(Math.max(Math.floor(value), 0), octalMax(width));
  buf.write(v.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
  buf[offset + width - 1] = 0;
}

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** Splits a path into ustar's prefix (155) and name (100) fields, or returns undefined. */
function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= 100) return { prefix: '', name: path };
  // The split must fall on a '/', leaving a non-empty name of at most 100 bytes.
  for (let i = path.indexOf('/'); i >= 0 && i <= 155; i = path.indexOf('/', i + 1)) {
    const name = path.slice(i + 1);
    if (name.length > 0 && name.length <= 100) return { prefix: path.slice(0, i), name };
  }
  return undefined;
}

/** One pax record, "LEN key=value\n", whose decimal length counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`);
}

function ustarBlock(h: {
  name: string;
  prefix: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid);
  writeOctal(b, 116, 8, h.gid);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, h.mtime);
  b.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  b.write(h.typeflag, 156, 1, 'ascii');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'ascii');
  // uname and gname (265, 297) stay empty: owners are numeric.
  writeOctal(b, 329, 8, h.devmajor);
  writeOctal(b, 337, 8, h.devminor);
  b.write(h.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** Truncates to at most `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/**
 * The header blocks for one entry: a ustar header, preceded by a pax extended header when the
 * entry needs one. The caller follows it with `size` bytes of data and `tarPadding(size)`.
 */
export function tarHeader(h: TarHeader): Buffer {
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const linkname = h.linkname ?? '';
  const mtime = Math.max(Math.floor(h.mtime), 0);
  const records: Buffer[] = [];
  let split = splitUstarPath(h.name);
  if (!split) {
    records.push(paxRecord('path', h.name));
    split = { prefix: '', name: truncateUtf8(h.name, 100) };
  }
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) records.push(paxRecord('linkpath', linkname));
  if (h.uid > octalMax(8)) records.push(paxRecord('uid', String(h.uid)));
  if (h.gid > octalMax(8)) records.push(paxRecord('gid', String(h.gid)));
  if (size > octalMax(12)) records.push(paxRecord('size', String(size)));
  if (mtime > octalMax(12)) records.push(paxRecord('mtime', String(mtime)));

  const main = ustarBlock({
    ...split,
    typeflag: typeflags[h.type],
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size,
    mtime,
    linkname: truncateUtf8(linkname, 100),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (records.length === 0) return main;

  const data = Buffer.concat(records);
  const base = (h.name.replace(/\/+$/, '').split('/').pop() ?? '').replace(/[^\x20-\x7e]/g, '_');
  const paxHead = ustarBlock({
    name: `PaxHeaders/${base.slice(0, 89)}`,
    prefix: '',
    typeflag: typeflags.pax,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: Math.min(mtime, octalMax(12)),
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHead, data, tarPadding(data.length), main]);
}

/**
 * One whole entry: its header, its data (checked against the declared size) and the padding.
 */
export async function* tarEntry(h: TarHeader, data?: AsyncIterable<Buffer | Uint8Array> | Buffer): AsyncGenerator<Buffer> {
  yield tarHeader(h);
  if (h.type !== 'file') return;
  const size = h.size ?? 0;
  let seen = 0;
  if (Buffer.isBuffer(data)) {
    seen = data.length;
    if (seen > 0) yield data;
  } else if (data) {
    for await (const chunk of data) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      seen += b.length;
      if (seen > size) break;
      yield b;
    }
  }
  if (seen !== size) throw contentChangedSize(h.name, size, seen);
  const pad = tarPadding(size);
  if (pad.length) yield pad;
}
