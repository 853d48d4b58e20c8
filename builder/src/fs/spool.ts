import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { writeError } from '../errors.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeScratchDir } from './scratch.js';
import type { Content } from './tree.js';

/** A file's data as a byte range of a spool, with its sha256 (hex). */
export interface DataRange {
  offset: number;
  size: number;
  digest: string;
}

/**
 * Holds file data taken out of compressed layers so it can be read again in any order without
 * keeping it in memory: one append-only file, each Content a byte range of it. Writes go out in
 * batches of about a MiB: an image holds thousands of small files, and one write per tar chunk
 * cost a warm build more than the unpacking itself. A build's own spool is a scratch file; the
 * cache of unpacked layers keeps its spools (see oci/unpacked-layers.ts).
 */
export class Spool {
  /** Bytes added, and bytes of them in the file. */
  private offset: number;
  private written: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The batch being written, if any: batches go out one at a time, in order. */
  private writing: Promise<void> = Promise.resolve();
  private static readonly batchBytes = 1 << 20;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly scratchDir: string | undefined,
    size = 0,
    /** What a failed write's error suggests. */
    private readonly hint = 'free space there, or point LKBUILD_TMPDIR at a larger disk',
  ) {
    this.offset = this.written = size;
  }

  /** A scratch spool, removed by dispose(). */
  static async create(): Promise<Spool> {
    const dir = await makeScratchDir('lkbuild-spool-');
    const path = join(dir, 'data');
    return new Spool(path, await open(path, 'w+'), dir);
  }

  /** A new spool file at `path`, which the caller keeps (or removes); `hint` goes with a failed write. */
  static async createFile(path: string, hint: string): Promise<Spool> {
    return new Spool(path, await open(path, 'wx+'), undefined, 0, hint);
  }

  /** A spool written earlier, `size` bytes long, to read ranges from. */
  static async openFile(path: string, size: number): Promise<Spool> {
    return new Spool(path, await open(path, 'r'), undefined, size);
  }

  get size(): number {
    return this.offset;
  }

  async add(source: AsyncIterable<Buffer>, size: number): Promise<Content> {
    return this.contentAt(await this.addRange(source, size));
  }

  /** Appends a file's data, which must be `size` bytes. */
  async addRange(source: AsyncIterable<Buffer>, size: number): Promise<DataRange> {
    const start = this.offset;
    const hash = createHash('sha256');
    for await (const chunk of source) {
      hash.update(chunk);
      await this.append(chunk);
    }
    const length = this.offset - start;
    if (length !== size) throw new Error(`spool: expected ${size} bytes, got ${length}`);
    return { offset: start, size, digest: hash.digest('hex') };
  }

  /** Appends bytes that are no file's data (a header, an index); resolves when they are queued. */
  async append(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.offset += chunk.length;
    if (this.pendingBytes >= Spool.batchBytes) await this.flush();
  }

  contentAt(range: DataRange): Content {
    if (range.offset < 0 || range.offset + range.size > this.offset) throw new Error(`internal: range outside the spool ${this.path}`);
    return { size: range.size, digest: range.digest, open: () => this.read(range.offset, range.size) };
  }

  /** Writes what is pending; resolves once everything added so far is in the file. */
  flush(): Promise<void> {
    if (this.pendingBytes > 0) {
      const batch = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.writing = this.writing.then(() => this.write(batch));
    }
    return this.writing;
  }

  private async write(batch: Buffer): Promise<void> {
    await this.fh.write(batch, 0, batch.length, this.written).catch((e: unknown) => {
      throw writeError(e, 'image contents to the spool file', this.path, this.hint);
    });
    this.written += batch.length;
  }

  /** Reads the range [start, start + size) whole: a cached unpacked layer's trailer and index (oci/unpacked-layers.ts). */
  async readBytes(start: number, size: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.read(start, size)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * A range read back through the spool's own file handle: one positional read per MiB, where a
   * stream of its own would open, read and close the file for each of the thousands of files.
   */
  private read(start: number, size: number): Readable {
    const spool = this;
    async function* range(): AsyncGenerator<Buffer> {
      if (start + size > spool.written) await spool.flush();
      for (let at = start, end = start + size; at < end; ) {
        const want = Math.min(Spool.batchBytes, end - at);
        const { bytesRead, buffer } = await spool.fh.read(Buffer.allocUnsafe(want), 0, want, at);
        if (bytesRead === 0) throw new Error(`spool: ${spool.path} ends before byte ${end}`);
        yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
        at += bytesRead;
      }
    }
    return Readable.from(range(), { objectMode: false });
  }

  async dispose(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.fh.close();
    if (this.scratchDir) await rm(this.scratchDir, { recursive: true, force: true });
  }
}
