import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { writeError } from '../errors.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeScratchDir } from './scratch.js';
import type { Content } from './tree.js';

/**
 * Holds file data taken out of compressed layers so it can be read again in any order without
 * keeping it in memory: one append-only temp file, each Content a byte range of it. Writes go
 * out in batches of about a MiB: an image holds thousands of small files, and one write per
 * tar chunk cost a warm build more than the unpacking itself.
 */
export class Spool {
  /** Bytes added, and bytes of them in the file. */
  private offset = 0;
  private written = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The batch being written, if any: batches go out one at a time, in order. */
  private writing: Promise<void> = Promise.resolve();
  private static readonly batchBytes = 1 << 20;

  private constructor(
    private readonly dir: string,
    private readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(): Promise<Spool> {
    const dir = await makeScratchDir('lkbuild-spool-');
    const path = join(dir, 'data');
    return new Spool(dir, path, await open(path, 'w+'));
  }

  async add(source: AsyncIterable<Buffer>, size: number): Promise<Content> {
    const start = this.offset;
    const hash = createHash('sha256');
    for await (const chunk of source) {
      hash.update(chunk);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.offset += chunk.length;
      if (this.pendingBytes >= Spool.batchBytes) await this.flush();
    }
    const length = this.offset - start;
    if (length !== size) throw new Error(`spool: expected ${size} bytes, got ${length}`);
    return { size, digest: hash.digest('hex'), open: () => this.read(start, size) };
  }

  /** Writes what is pending; resolves once everything added so far is in the file. */
  private flush(): Promise<void> {
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
      throw writeError(e, 'image contents to the spool file', this.path, 'free space there, or point LKBUILD_TMPDIR at a larger disk');
    });
    this.written += batch.length;
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
    await rm(this.dir, { recursive: true, force: true });
  }
}
