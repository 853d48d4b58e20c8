/** Small disks shaped like the aws and gcp formats' outputs. */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TAR_END, tarEntry } from '../../src/archive/tar.js';

export const BLOCK = 512 * 1024;

/** Writes `blocks` blocks of 512 KiB; the listed ones (and block 0, with the headers) hold data. */
export async function writeDisk(path: string, blocks: number, withData: number[]): Promise<{ sha256: string; dataBlocks: number[] }> {
  const disk = Buffer.alloc(blocks * BLOCK);
  for (const i of withData) randomBytes(4096).copy(disk, i * BLOCK + 8192);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  disk.write('EFI PART', 512, 'latin1');
  await writeFile(path, disk);
  return { sha256: createHash('sha256').update(disk).digest('hex'), dataBlocks: [...new Set([0, ...withData])].sort((a, b) => a - b) };
}

/** A gcp-format archive: a gzip'd tar whose one file is disk.raw (random, so it does not compress). */
export async function writeArchive(path: string, diskBytes: number): Promise<Buffer> {
  const disk = randomBytes(diskBytes);
  async function* tar() {
    yield* tarEntry({ name: 'disk.raw', type: 'file', mode: 0o644, uid: 0, gid: 0, size: disk.length, mtime: 0 }, Readable.from([disk]));
    yield TAR_END;
  }
  await pipeline(Readable.from(tar()), createGzip(), createWriteStream(path));
  return disk;
}
