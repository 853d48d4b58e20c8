/**
 * What `push` and `run` accept as an image file: the output of the aws or gcp format, told by
 * the format table's file names and checked by content, so a wrong file fails before any upload.
 */
import { open } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';
import { LkError } from '../errors.js';
import { identifyOutput, outputPaths, type Firmware } from '../formats/index.js';

export interface CloudImageFile {
  path: string;
  size: number;
  /** The output name: the file name without the format's suffix. */
  base: string;
  firmware: Firmware;
}

export async function cloudImageFile(path: string, format: 'aws' | 'gcp'): Promise<CloudImageFile> {
  const expected = outputPaths(format, 'NAME')[0];
  const found = identifyOutput(path);
  if (found?.format.name !== format)
    throw new LkError(
      'cloud',
      `${path} is not an output of the ${format} format`,
      `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`,
    );
  let head = Buffer.alloc(0);
  let size = 0;
  try {
    const fh = await open(path, 'r');
    try {
      size = (await fh.stat()).size;
      head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new LkError(
      'cloud',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`,
    );
  }
  const ok =
    format === 'aws'
      ? size >= 1024 && head[510] === 0x55 && head[511] === 0xaa && head.subarray(512, 520).toString('latin1') === 'EFI PART'
      : firstTarEntry(head) === 'disk.raw';
  if (!ok)
    throw new LkError(
      'cloud',
      `${path} does not hold ${format === 'aws' ? 'a GPT disk' : "a gzip'd tar whose first file is disk.raw"}`,
      `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`,
    );
  return { path, size, base: found.base, firmware: found.format.firmware };
}

/** The name in the first tar header of the start of a gzip'd tar; undefined when it is not one. */
function firstTarEntry(gzipHead: Buffer): string | undefined {
  if (gzipHead.length < 2 || gzipHead[0] !== 0x1f || gzipHead[1] !== 0x8b) return undefined;
  try {
    const tar = gunzipSync(gzipHead, { finishFlush: constants.Z_SYNC_FLUSH });
    if (tar.length < 512 || tar.subarray(257, 262).toString('latin1') !== 'ustar') return undefined;
    return tar.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
  } catch {
    return undefined;
  }
}
