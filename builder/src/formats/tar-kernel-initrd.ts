import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { nodeKernel, stageInitrd } from './kernel-initrd.js';
import { TAR_END, tarEntry } from '../archive/tar.js';

/**
 * tar-kernel-initrd: NAME-initrd.tar, LinuxKit's layout for it: `kernel`, `initrd.img` and
 * `cmdline` at the top of the archive, each 0644 and owned by 0:0, plus `ucode.cpio` after them
 * when the kernel image carries CPU microcode (the initrd.img in the tar is then the root
 * filesystem alone, as LinuxKit writes it; prepend ucode.cpio to boot with the microcode).
 * Every mtime is SOURCE_DATE_EPOCH.
 */
export async function writeTarKernelInitrd(ctx: FormatContext, path: string): Promise<void> {
  const kernel = nodeKernel(ctx, 'tar-kernel-initrd');
  const ucode = ctx.node.ucode;
  await withScratch(async (dir) => {
    // The compressed initrd's size is known only once it is written: stage it, then stream it.
    const initrd = await stageInitrd(ctx, join(dir, 'initrd.img'), false);
    const initrdSize = (await stat(initrd)).size;
    const cmdline = Buffer.from(ctx.node.cmdline);
    const file = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: ctx.sourceDateEpoch };
    async function* archive(): AsyncGenerator<Buffer> {
      yield* tarEntry({ ...file, name: 'kernel', size: kernel.size }, kernel.open());
      yield* tarEntry({ ...file, name: 'initrd.img', size: initrdSize }, createReadStream(initrd));
      yield* tarEntry({ ...file, name: 'cmdline', size: cmdline.length }, cmdline);
      if (ucode) yield* tarEntry({ ...file, name: 'ucode.cpio', size: ucode.size }, ucode.open());
      yield TAR_END;
    }
    await ctx.outputs.write(path, Readable.from(archive()));
  });
}
