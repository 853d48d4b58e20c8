import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { normalizePath } from '../fs/tree.js';
import { staged, type AtomicOutputs } from './atomic-output.js';
import { hostFiles, requireHostFile } from './host-tools.js';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import type { UkiSigner } from '../trust/sign.js';
import { nodeKernel, stageInitrd } from './kernel-initrd.js';
import { PeChecksum, appendSections } from './pe.js';

/**
 * A Unified Kernel Image: systemd's EFI stub with the node's os-release, kernel command line,
 * kernel and initrd appended as PE sections (.osrel, .cmdline, .linux, .initrd).
 *
 * The sections are added by our own PE code (pe.ts) rather than objcopy: the result depends only
 * on the stub's bytes, not on the binutils version (objcopy's PE rewriting has changed between
 * releases), the timestamp and checksum are set by us from SOURCE_DATE_EPOCH, and the kernel and
 * initrd stream through without extra copies.
 */

interface Part {
  name: string;
  size: number;
  open(): Readable;
}

/** The node's /etc/os-release if it has one, else a minimal one naming the build. */
async function osRelease(ctx: FormatContext): Promise<Buffer> {
  let own = ctx.node.tree.get('etc/os-release');
  // Usually a symlink to ../usr/lib/os-release.
  if (own?.type === 'symlink' && own.linkname) {
    const target = posix.normalize(posix.join(own.linkname.startsWith('/') ? '/' : '/etc', own.linkname));
    own = ctx.node.tree.get(normalizePath(target));
  }
  if (own?.type === 'file' && own.content) {
    const chunks: Buffer[] = [];
    for await (const c of own.content.open()) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  const name = basename(ctx.base);
  return Buffer.from(`NAME="lkbuild"\nID=lkbuild\nPRETTY_NAME="lkbuild node ${name}"\nIMAGE_ID=${JSON.stringify(name)}\n`);
}

/** The command line the stub passes to the kernel: the build file's, on one line. */
export function ukiCmdline(cmdline: string): string {
  return cmdline.replace(/\s+/g, ' ').trim();
}

function bufferPart(name: string, data: Buffer): Part {
  return { name, size: data.length, open: () => Readable.from([data]) };
}

/** Writes the node's UKI to `path` through `outputs`; `format` is the one being written, for errors. */
async function writeUkiTo(ctx: FormatContext, outputs: AtomicOutputs, path: string, format: string): Promise<void> {
  const kernel = nodeKernel(ctx, format);
  const stub = await readFile(await requireHostFile(hostFiles.efiStub, format));
  await withScratch(async (dir) => {
    // The initrd's size goes into the section table ahead of it: stage it first.
    const initrdPath = await stageInitrd(ctx, join(dir, 'initrd.img'));
    const parts: Part[] = [
      bufferPart('.osrel', await osRelease(ctx)),
      bufferPart('.cmdline', Buffer.from(ukiCmdline(ctx.node.cmdline))),
      { name: '.linux', size: kernel.size, open: () => kernel.open() },
      { name: '.initrd', size: (await stat(initrdPath)).size, open: () => createReadStream(initrdPath) },
    ];
    const layout = appendSections(stub, parts, ctx.sourceDateEpoch);
    // Every section starts at an even file offset, so its words sum on their own.
    const sum = new PeChecksum().update(layout.prefix);
    for (const [i, p] of parts.entries()) {
      for await (const c of p.open()) sum.update(c as Buffer);
      sum.zeros(layout.sections[i]!.sizeOfRawData - p.size);
    }
    const checksum = sum.digest();
    const prefix = Buffer.from(layout.prefix);
    prefix.writeUInt32LE(checksum, layout.checksumOffset);
    const sections = layout.sections;
    async function* body(): AsyncGenerator<Buffer> {
      yield prefix;
      for (const [i, p] of parts.entries()) {
        let n = 0;
        for await (const c of p.open()) {
          n += (c as Buffer).length;
          yield c as Buffer;
        }
        if (n !== p.size) throw new Error(`internal: UKI section ${p.name} changed size (${p.size} -> ${n})`);
        const pad = sections[i]!.sizeOfRawData - p.size;
        if (pad) yield Buffer.alloc(pad);
      }
    }
    await outputs.write(path, Readable.from(body()));
  });
}

/** The uki format: NAME.efi. */
export async function writeUki(ctx: FormatContext, path: string): Promise<void> {
  if (ctx.signer) await ctx.outputs.writeFrom(path, await signedUki(ctx, ctx.signer, 'uki'));
  else await writeUkiTo(ctx, ctx.outputs, path, 'uki');
}

/** The build's signed UKI (made and signed once, see trust/sign.ts). */
function signedUki(ctx: FormatContext, signer: UkiSigner, format: string): Promise<string> {
  return signer.signedUki((unsigned) => staged((outputs) => writeUkiTo(ctx, outputs, unsigned, format)), format);
}

/** Writes the UKI to a scratch path for `format`, which embeds it, and returns the path (the signed UKI's own when signing). */
export async function stageUki(ctx: FormatContext, path: string, format: string): Promise<string> {
  if (ctx.signer) return signedUki(ctx, ctx.signer, format);
  await staged((outputs) => writeUkiTo(ctx, outputs, path, format));
  return path;
}
