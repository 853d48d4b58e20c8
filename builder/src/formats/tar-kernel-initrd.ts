import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LkError } from '../errors.js';
import { AtomicOutputs } from './atomic-output.js';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { writeInitrd } from './kernel-initrd.js';
import { TAR_END, tarEntry } from '../archive/tar.js';

/**
 * tar-kernel-initrd: NAME-initrd.tar, LinuxKit's layout for it: `kernel`, `initrd.img` and
 * `cmdline` at the top of the archive, each 0644 and owned by 0:0, plus `ucode.cpio` after them
 * when the kernel image carries CPU microcode (the initrd.img in the tar is then the root
 * filesystem alone, as LinuxKit writes it; prepend ucode.cpio to boot with the microcode).
 * Every mtime is SOURCE_DATE_EPOCH.
 */
export async function writeTarKernelInitrd(ctx: FormatContext, path: string): Promise<void> {
  const kernel = ctx.node.kernel;
  if (!kernel) throw new LkError('format', 'the tar-kernel-initrd format needs a kernel: the build file has no kernel section');
  const ucode = ctx.node.ucode;
  await withScratch(async (dir) => {
    // The gzip'd initrd's size is known only once it is written: stage it, then stream it.
    const initrd = join(dir, 'initrd.img');
    const staging = new AtomicOutputs();
    try {
      await writeInitrd({ ...ctx, node: { ...ctx.node, ucode: undefined }, outputs: staging }, initrd);
      await staging.commit();
    } catch (e) {
      await staging.abort();
      throw e;
    }
    const initrdSize = (await stat(initrd)).size;
    const cmdline = Buffer.from(ctx.node.cmdline);
    const file = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: ctx.sourceDateEpoch };
    async function* archive(): AsyncGenerator<Buffer> {
      yield* tarEntry({ ...file, name: 'kernel', size: kernel!.size }, kernel!.open());
      yield* tarEntry({ ...file, name: 'initrd.img', size: initrdSize }, createReadStream(initrd));
      yield* tarEntry({ ...file, name: 'cmdline', size: cmdline.length }, cmdline);
      if (ucode) yield* tarEntry({ ...file, name: 'ucode.cpio', size: ucode.size }, ucode.open());
      yield TAR_END;
    }
    await ctx.outputs.write(path, Readable.from(archive()));
  });
}
