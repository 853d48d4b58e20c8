import { stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FsEntry } from '../fs/tree.js';
import { runTool } from '../util/host-tool.js';
import { rootfsTar } from './tar.js';

/**
 * The node's root as a squashfs image, made by Debian's mksquashfs from the same tar the tar
 * format writes (one serialisation of the tree, streamed into mksquashfs's stdin: no copy of
 * the tree on disk, owners and device nodes kept without root). Reproducible: mksquashfs's
 * -reproducible ordering, every time (file and mkfs) SOURCE_DATE_EPOCH, the root directory's
 * owner and mode fixed, no xattrs (the initrd has none either). gzip (zlib) compression, 128 KiB
 * blocks: what the kernel's SQUASHFS_ZLIB reads. The image is padded with zeros to whole
 * 4096-byte blocks, dm-verity's block size.
 */

const PAD = 4096;

/** squashfs stores times as unsigned 32-bit seconds. */
function squashfsTime(sourceDateEpoch: number): string {
  return String(Math.min(Math.max(Math.floor(sourceDateEpoch), 0), 0xffffffff));
}

export async function makeSquashfs(
  entries: Iterable<[string, FsEntry]>,
  sourceDateEpoch: number,
  path: string,
  user: string,
): Promise<number> {
  // An error of the tree's own (a file that changed size) is the one to report, not mksquashfs's
  // complaint about the tar that stopped short.
  let sourceError: unknown;
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      yield* rootfsTar(entries, sourceDateEpoch);
    } catch (e) {
      sourceError = e;
      throw e;
    }
  }
  const time = squashfsTime(sourceDateEpoch);
  const args = ['-', path, '-tar', '-noappend', '-reproducible', '-comp', 'gzip', '-b', '128K'];
  args.push('-mkfs-time', time, '-all-time', time, '-root-time', time, '-root-mode', '755', '-root-uid', '0', '-root-gid', '0');
  args.push('-no-xattrs', '-no-recovery', '-quiet', '-no-progress');
  try {
    // mksquashfs refuses -mkfs-time beside a SOURCE_DATE_EPOCH of the environment: runTool passes none.
    await runTool('mksquashfs', args, { user, input: Readable.from(guarded()) });
  } catch (e) {
    throw sourceError ?? e;
  }
  if (sourceError) throw sourceError;
  const size = (await stat(path)).size;
  const padded = Math.ceil(size / PAD) * PAD;
  if (padded !== size) await truncate(path, padded);
  return padded;
}
