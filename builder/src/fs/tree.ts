import { Readable } from 'node:stream';
import { LkError } from '../errors.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

/** File data that can be read again as often as needed, without holding it in memory. */
export interface Content {
  size: number;
  open(): Readable;
  /** sha256 of the data, when the producer computed it (the spool does): equal digests, equal data. */
  digest?: string;
}

/**
 * A file's size goes into an archive's header before its data: content that gave `seen` bytes
 * instead of the `size` it declared (a file changed under the build, or one from /proc or /sys)
 * cannot be archived. `seen` above `size` means reading stopped there.
 */
export function contentChangedSize(path: string, size: number, seen: number): LkError {
  const now = seen > size ? `more than ${size} bytes` : `${seen} bytes`;
  return new LkError(
    'build',
    `/${path.replace(/^\/+/, '')} changed size while it was archived: ${size} bytes when the build began, ${now} when read`,
    "leave the build's source files alone while it runs; a file from /proc or /sys has no fixed size, so copy it to a regular file first",
  );
}

export interface FsEntry {
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky; the file type lives in `type`. */
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  content?: Content;
  xattrs?: Record<string, string>;
}

export function bufferContent(data: Buffer | string): Content {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { size: buf.length, open: () => Readable.from([buf]) };
}

/**
 * Turns a path from a layer, a YAML file or a recipe into the tree's canonical form: relative to
 * the root, no '.', no empty parts. A '..' anywhere is refused rather than resolved, because an
 * archive that needs it is either broken or trying to escape its root.
 */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new LkError('layer', `path "${path}" leaves its root through ".."`, 'the archive is malformed or malicious');
    parts.push(part);
  }
  return parts.join('/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Compares paths component by component, so that a directory sorts right before its children. */
export function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

const defaultDir: FsEntry = { type: 'dir', mode: 0o755, uid: 0, gid: 0 };

/**
 * An in-memory view of a root filesystem: metadata in a map, file data behind `Content`.
 * Images, bundles and files are merged into one tree, which an archive writer then streams.
 */
export class FsTree {
  private readonly entries = new Map<string, FsEntry>();

  get(path: string): FsEntry | undefined {
    return this.entries.get(normalizePath(path));
  }

  /** Adds or replaces an entry, creating missing parents as root-owned 0755 directories. */
  set(path: string, entry: FsEntry): void {
    const p = normalizePath(path);
    if (p === '') return; // the root itself is implicit
    this.assertNoSymlinkParent(p);
    this.mkdirp(parentOf(p));
    const old = this.entries.get(p);
    if (old?.type === 'dir' && entry.type !== 'dir') this.remove(p);
    this.entries.set(p, entry);
  }

  mkdirp(path: string, entry: FsEntry = defaultDir): void {
    const p = normalizePath(path);
    if (p === '') return;
    const existing = this.entries.get(p);
    if (existing?.type === 'dir') return;
    if (existing) throw new LkError('layer', `cannot create directory /${p}: a ${existing.type} is in the way`);
    this.mkdirp(parentOf(p));
    this.entries.set(p, { ...entry });
  }

  /** Removes a path and everything below it. */
  remove(path: string): void {
    const p = normalizePath(path);
    this.entries.delete(p);
    const prefix = p === '' ? '' : p + '/';
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  /** Removes everything below a directory but keeps the directory (an OCI opaque whiteout). */
  clearDir(path: string): void {
    const p = normalizePath(path);
    const prefix = p === '' ? '' : p + '/';
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix) && key !== p) this.entries.delete(key);
  }

  /** Entries in archive order: parents before children, siblings sorted, deterministic. */
  sorted(): Array<[string, FsEntry]> {
    return [...this.entries.entries()].sort((a, b) => comparePaths(a[0], b[0]));
  }

  get size(): number {
    return this.entries.size;
  }

  /** A layer may not write through a symlink: in a real unpack that is how files escape the root. */
  private assertNoSymlinkParent(p: string): void {
    let i = p.indexOf('/');
    while (i >= 0) {
      const ancestor = this.entries.get(p.slice(0, i));
      if (ancestor?.type === 'symlink') {
        throw new LkError(
          'layer',
          `path "/${p}" goes through the symlink "/${p.slice(0, i)}" -> "${ancestor.linkname}"`,
          'the archive is malformed or tries to write outside its root',
        );
      }
      i = p.indexOf('/', i + 1);
    }
  }
}
