import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { withScratch } from '../fs/scratch.js';
import type { FormatContext } from './context.js';
import { stageRawEfi } from './raw-efi.js';
import { TAR_END, tarEntry } from '../archive/tar.js';

/**
 * gcp: NAME.img.tar.gz, Google Compute Engine's import format: a gzip'd tar holding exactly one
 * file, `disk.raw`, the raw-efi disk (GPT, an ESP with the UKI as the removable-media loader).
 * The disk has no BIOS boot code: create the GCE image with the guest OS feature
 * UEFI_COMPATIBLE (`gcloud compute images create ... --guest-os-features=UEFI_COMPATIBLE`) so
 * that instances boot it with UEFI.
 *
 * Reproducible: the tar entry is 0644, owned by 0:0 with no owner names and SOURCE_DATE_EPOCH
 * as its mtime; Node's gzip header carries no file name and an mtime of 0.
 */
/** GCE imports raw disks whose size is a whole number of GiB; ours is 1 GiB (mostly zeros). */
export const GCE_DISK_MULTIPLE_MIB = 1024;

export async function writeGcp(ctx: FormatContext, path: string): Promise<void> {
  await withScratch(async (dir) => {
    const raw = await stageRawEfi(ctx, join(dir, 'disk.raw'), 'gcp', GCE_DISK_MULTIPLE_MIB);
    const size = (await stat(raw)).size;
    async function* archive(): AsyncGenerator<Buffer> {
      yield* tarEntry(
        { name: 'disk.raw', type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: ctx.sourceDateEpoch },
        createReadStream(raw),
      );
      yield TAR_END;
    }
    const gzip = createGzip({ level: 9 });
    // pipeline destroys the gzip stream if the archive fails, which fails the output's write.
    await Promise.all([ctx.outputs.write(path, gzip), pipeline(Readable.from(archive()), gzip)]);
  });
}
