import { createHash } from 'node:crypto';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { withScratch } from '../fs/scratch.js';
import { requireTool, runTool } from '../util/host-tool.js';
import { guidBytes, hashGuid } from './gpt.js';
import type { FormatContext } from './context.js';
import { sha256File } from '../util/sha256-file.js';
import { stageRawEfi } from './raw-efi.js';

/**
 * qcow2, vmdk and vhd: the raw-efi disk converted by qemu-img. qemu-img stamps VMDK and VHD
 * files with a random id (and VHD with the time): those fields are rewritten from a hash of the
 * raw disk and SOURCE_DATE_EPOCH, so these outputs are reproducible too.
 */

/** VHD footers count time in seconds from 2000-01-01T00:00:00Z. */
const VHD_EPOCH = 946684800;

/** Rewrites a VHD footer's timestamp and unique id and recomputes its checksum (in place). */
export function fixVhdFooter(footer: Buffer, sourceDateEpoch: number, uniqueId: Buffer): void {
  if (footer.length !== 512 || footer.toString('latin1', 0, 8) !== 'conectix') throw new Error('internal: not a VHD footer');
  footer.writeUInt32BE(Math.min(Math.max(sourceDateEpoch - VHD_EPOCH, 0), 0xffffffff), 24);
  uniqueId.copy(footer, 68, 0, 16);
  footer.writeUInt32BE(0, 64);
  let sum = 0;
  for (const b of footer) sum += b;
  footer.writeUInt32BE(~sum >>> 0, 64);
}

/**
 * Rewrites the content id in a VMDK's embedded descriptor (in place): the text up to its first
 * NUL with our CID, then zeros to the end of the descriptor's sectors. qemu-img prints the CID
 * without leading zeros and leaves the bytes of an earlier, longer descriptor after the NUL, so
 * only the whole region is reproducible. Returns false if there is no CID line or no room.
 */
export function fixVmdkDescriptor(descriptor: Buffer, cid: string): boolean {
  const end = descriptor.indexOf(0);
  const text = descriptor.toString('latin1', 0, end < 0 ? descriptor.length : end);
  const m = /\nCID=[0-9a-f]{1,8}\n/.exec(text);
  if (!m) return false;
  const fixed = `${text.slice(0, m.index)}\nCID=${cid}\n${text.slice(m.index + m[0].length)}`;
  if (fixed.length >= descriptor.length) return false;
  descriptor.fill(0);
  descriptor.write(fixed, 0, 'latin1');
  return true;
}

/** Where a monolithic sparse VMDK keeps its descriptor: [byte offset, byte length] from the header. */
export function vmdkDescriptorRange(header: Buffer): [number, number] | undefined {
  if (header.length < 44 || header.toString('latin1', 0, 4) !== 'KDMV') return undefined;
  const sector = Number(header.readBigUInt64LE(28));
  const sectors = Number(header.readBigUInt64LE(36));
  if (sector < 1 || sectors < 1 || sectors > 2048) return undefined;
  return [sector * 512, sectors * 512];
}

/** Up to `length` bytes of an open file from `at` (fewer at its end). */
async function readFrom(fh: FileHandle, at: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, at);
  return b.subarray(0, bytesRead);
}

async function readAt(path: string, at: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    return await readFrom(fh, at, length);
  } finally {
    await fh.close();
  }
}

async function patch(path: string, at: number, length: number, fn: (b: Buffer) => void): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = await readFrom(fh, at, length);
    if (b.length !== length) throw new Error(`internal: short read of ${path}`);
    fn(b);
    await fh.write(b, 0, length, at);
  } finally {
    await fh.close();
  }
}

export type VmFormat = 'qcow2' | 'vmdk' | 'vhd';

const convertArgs: Record<VmFormat, string[]> = {
  qcow2: ['-O', 'qcow2'],
  vmdk: ['-O', 'vmdk'],
  // Fixed-size, with the virtual size exactly the raw disk's (a whole MiB): what Azure accepts.
  vhd: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'],
};

/** Writes the `format` conversion of the raw-efi disk to `final`. */
export async function writeVmDisk(ctx: FormatContext, format: VmFormat, final: string): Promise<void> {
  await requireTool('qemu-img', `the ${format} format`);
  await withScratch(async (dir) => {
    const raw = await stageRawEfi(ctx, join(dir, 'raw-efi.img'), format);
    // The converted file carries the final name: a VMDK's descriptor names its own file.
    const out = join(dir, basename(final));
    await runTool('qemu-img', ['convert', '-q', '-f', 'raw', ...convertArgs[format], raw, out], { user: `the ${format} format` });
    const rawHash = await sha256File(raw);
    if (format === 'vmdk') {
      const cid = createHash('sha256').update('lkbuild vmdk cid').update(rawHash).digest('hex').slice(0, 8);
      const range = vmdkDescriptorRange(await readAt(out, 0, 512));
      if (!range) throw new Error('internal: qemu-img wrote a VMDK without an embedded descriptor');
      let found = false;
      await patch(out, ...range, (d) => (found = fixVmdkDescriptor(d, cid === 'ffffffff' ? 'fffffffe' : cid)));
      if (!found) throw new Error('internal: no CID in the VMDK descriptor qemu-img wrote');
    } else if (format === 'vhd') {
      const size = (await stat(out)).size;
      await patch(out, size - 512, 512, (f) => fixVhdFooter(f, ctx.sourceDateEpoch, guidBytes(hashGuid('lkbuild vhd', rawHash))));
    }
    await ctx.outputs.writeFrom(final, out);
  });
}
