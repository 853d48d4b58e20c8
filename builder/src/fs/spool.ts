import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { writeError } from '../errors.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeScratchDir } from './scratch.js';
import type { Content } from './tree.js';

/**
 * Holds file data taken out of compressed layers so it can be read again in any order without
 * keeping it in memory: one append-only temp file, each Content a byte range of it.
 */
export class Spool {
  private offset = 0;
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
      await this.fh.write(chunk, 0, chunk.length, this.offset).catch((e: unknown) => {
        throw writeError(e, 'image contents to the spool file', this.path, 'free space there, or point LKBUILD_TMPDIR at a larger disk');
      });
      this.offset += chunk.length;
    }
    const length = this.offset - start;
    if (length !== size) throw new Error(`spool: expected ${size} bytes, got ${length}`);
    const path = this.path;
    return {
      size,
      digest: hash.digest('hex'),
      open: () => (size === 0 ? Readable.from([]) : createReadStream(path, { start, end: start + size - 1 })),
    };
  }

  async dispose(): Promise<void> {
    await this.fh.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
