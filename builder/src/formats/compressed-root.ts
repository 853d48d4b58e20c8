import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeError } from '../errors.js';
import { makeScratchDir } from '../fs/scratch.js';
import { timed, type StageClock } from '../util/stage-clock.js';

/**
 * The compressed cpio of the node's root, made once per build: cpio + compression of the whole tree is
 * the costly step of every format that embeds an initrd, and a build asking for several formats
 * would otherwise repeat it for each.
 */
export class CompressedRoot {
  private made?: Promise<string>;
  private dir?: string;

  /** `clock` times the making as the build's "compress" stage. */
  constructor(private readonly clock?: StageClock) {}

  /** The file holding the compressed root; `make` streams it the first time only. */
  file(make: () => Readable): Promise<string> {
    this.made ??= timed(this.clock, 'compress', () => this.write(make));
    return this.made;
  }

  private async write(make: () => Readable): Promise<string> {
    this.dir = await makeScratchDir('lkbuild-root-');
    const path = join(this.dir, 'root.cpio');
    try {
      await pipeline(make(), createWriteStream(path));
    } catch (e) {
      throw writeError(e, 'the compressed root to', path, 'free space there, or point LKBUILD_TMPDIR at a larger disk');
    }
    return path;
  }

  async dispose(): Promise<void> {
    await this.made?.catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
