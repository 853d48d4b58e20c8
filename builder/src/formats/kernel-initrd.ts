import { createReadStream } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LkError } from '../errors.js';
import { compressedCpioStream } from '../archive/compress.js';
import type { Content } from '../fs/tree.js';
import { staged } from './atomic-output.js';
import type { FormatContext } from './context.js';
import type { OutputPath } from './index.js';

/** The node's kernel; a build file without one cannot give `format`. */
export function nodeKernel(ctx: FormatContext, format: string): Content {
  if (!ctx.node.kernel) throw new LkError('format', `the ${format} format needs a kernel: the build file has no kernel section`);
  return ctx.node.kernel;
}

/**
 * The initrd: an optional uncompressed microcode cpio followed by the compressed root filesystem
 * (`withUcode: false`: the root alone, as LinuxKit's tar-kernel-initrd holds it).
 */
export async function writeInitrd(ctx: FormatContext, path: string, withUcode = true): Promise<void> {
  const { node } = ctx;
  const compress = () => compressedCpioStream((node.initrdTree ?? node.tree).sorted(), ctx.sourceDateEpoch, ctx.compression ?? 'gzip');
  // The build's shared compressed root is the whole tree's.
  const body = ctx.compressedRoot && !node.initrdTree ? createReadStream(await ctx.compressedRoot.file(compress)) : compress();
  const ucode = withUcode ? node.ucode : undefined;
  if (!ucode) {
    await ctx.outputs.write(path, body);
    return;
  }
  async function* joined(): AsyncGenerator<Buffer> {
    for await (const c of ucode!.open()) yield c as Buffer;
    for await (const c of body) yield c as Buffer;
  }
  await ctx.outputs.write(path, Readable.from(joined()));
}

/** Writes the initrd to a scratch path for a format that embeds it (its size must be known first); returns the path. */
export async function stageInitrd(ctx: FormatContext, path: string, withUcode = true): Promise<string> {
  await staged((outputs) => writeInitrd({ ...ctx, outputs }, path, withUcode));
  return path;
}

/**
 * Writes the node's kernel and initrd as plain files in `dir` (for tools that read files), with
 * their modification times set to `mtime` (seconds). Returns their paths.
 */
export async function stageKernelInitrd(
  ctx: FormatContext,
  dir: string,
  format: string,
  mtime: number,
): Promise<{ kernel: string; initrd: string }> {
  const source = nodeKernel(ctx, format);
  const kernel = join(dir, 'kernel');
  const initrd = join(dir, 'initrd.img');
  await staged(async (outputs) => {
    await outputs.write(kernel, source.open());
    await writeInitrd({ ...ctx, outputs }, initrd);
  });
  for (const p of [kernel, initrd]) await utimes(p, mtime, mtime);
  return { kernel, initrd };
}

/** LinuxKit's default output: NAME-kernel, NAME-initrd.img, NAME-cmdline. */
export async function writeKernelInitrd(ctx: FormatContext, path: OutputPath): Promise<void> {
  await ctx.outputs.write(path('kernel'), nodeKernel(ctx, 'kernel+initrd').open());
  await writeInitrd(ctx, path('initrd'));
  await ctx.outputs.write(path('cmdline'), ctx.node.cmdline);
}
