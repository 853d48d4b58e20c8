import { createReadStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { LkError } from '../errors.js';
import { cpioStream } from '../archive/cpio.js';
import type { FormatContext } from './context.js';
import type { OutputPath } from './index.js';

/** The initrd: an optional uncompressed microcode cpio followed by the gzip'd root filesystem. */
export async function writeInitrd(ctx: FormatContext, path: string): Promise<void> {
  const { node } = ctx;
  const compress = () => cpioStream(node.tree.sorted(), ctx.sourceDateEpoch).pipe(createGzip({ level: 9 }));
  const body = ctx.compressedRoot ? createReadStream(await ctx.compressedRoot.file(compress)) : compress();
  if (!node.ucode) {
    await ctx.outputs.write(path, body);
    return;
  }
  const { Readable } = await import('node:stream');
  const ucode = node.ucode;
  await ctx.outputs.write(
    path,
    Readable.from(
      (async function* () {
        for await (const c of ucode.open()) yield c as Buffer;
        for await (const c of body) yield c as Buffer;
      })(),
    ),
  );
}

/** LinuxKit's default output: name-kernel, name-initrd.img, name-cmdline. */
export async function writeKernelInitrd(ctx: FormatContext, path: OutputPath): Promise<void> {
  if (!ctx.node.kernel) throw new LkError('format', 'the kernel+initrd format needs a kernel: the build file has no kernel section');
  await ctx.outputs.write(path('kernel'), ctx.node.kernel.open());
  await writeInitrd(ctx, path('initrd'));
  await ctx.outputs.write(path('cmdline'), ctx.node.cmdline);
}
