import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeError } from '../errors.js';

/**
 * A set of output files that appear together or not at all: each is written under a temporary
 * name and all are renamed into place only once every one of them is complete.
 */
export class AtomicOutputs {
  private readonly pending: Array<{ tmp: string; final: string }> = [];
  /** Directories these outputs created ([deepest, topmost created]), removed again on abort if empty. */
  private readonly createdDirs: Array<[string, string]> = [];

  async write(finalPath: string, source: Readable | Buffer | string): Promise<void> {
    try {
      await this.writeTemporary(finalPath, source);
    } catch (e) {
      throw writeError(e, 'the output', finalPath, 'free space there, or write the outputs elsewhere with -o DIR');
    }
  }

  private async writeTemporary(finalPath: string, source: Readable | Buffer | string): Promise<void> {
    const created = await mkdir(dirname(finalPath), { recursive: true });
    if (created) this.createdDirs.push([dirname(finalPath), created]);
    const tmp = join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.partial`);
    this.pending.push({ tmp, final: finalPath });
    const out = createWriteStream(tmp);
    if (typeof source === 'string' || Buffer.isBuffer(source)) {
      await new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.end(source, () => resolve());
      });
    } else {
      await pipeline(source, out);
    }
  }

  /** Copies a finished scratch file into place as `finalPath`. */
  async writeFrom(finalPath: string, scratchPath: string): Promise<void> {
    await this.write(finalPath, createReadStream(scratchPath));
  }

  async commit(): Promise<string[]> {
    for (const p of this.pending) await rename(p.tmp, p.final);
    return this.pending.map((p) => p.final);
  }

  async abort(): Promise<void> {
    await Promise.all(this.pending.map((p) => rm(p.tmp, { force: true })));
    // A failed build leaves no empty output directory behind it; one that holds anything stays.
    for (const [deepest, top] of this.createdDirs.reverse()) {
      for (let dir = deepest; ; dir = dirname(dir)) {
        if (
          !(await rmdir(dir).then(
            () => true,
            () => false,
          )) ||
          dir === top
        )
          break;
      }
    }
  }
}

/**
 * Runs `write` with outputs of its own and commits them when it succeeds, removing what it
 * wrote when it fails: how a format stages an intermediate file (an initrd, a UKI, a disk) in
 * scratch space for a later step to read.
 */
export async function staged<T>(write: (outputs: AtomicOutputs) => Promise<T>): Promise<T> {
  const outputs = new AtomicOutputs();
  try {
    const result = await write(outputs);
    await outputs.commit();
    return result;
  } catch (e) {
    await outputs.abort();
    throw e;
  }
}
