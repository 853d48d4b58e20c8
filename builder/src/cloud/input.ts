/**
 * What `push` and `run` accept as an image file: the output of the aws or gcp format, told by
 * the format table's file names and checked by content, so a wrong file fails before any upload.
 */
import { open } from 'node:fs/promises';
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
  if (found?.format.name !== format) throw new LkError('cloud', `${path} is not an output of the ${format} format`, `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`);
  let head = Buffer.alloc(0);
  let size = 0;
  try {
    const fh = await open(path, 'r');
    try {
      size = (await fh.stat()).size;
      head = Buffer.alloc(1024);
      await fh.read(head, 0, 1024, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new LkError('cloud', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`);
  }
  const ok =
    format === 'aws'
      ? size >= 1024 && head[510] === 0x55 && head[511] === 0xaa && head.subarray(512, 520).toString('latin1') === 'EFI PART'
      : size >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (!ok) throw new LkError('cloud', `${path} does not hold ${format === 'aws' ? 'a GPT disk' : 'a gzip archive'}`, `expected ${expected}, as \`lkbuild build -f ${format}\` writes it`);
  return { path, size, base: found.base, firmware: found.format.firmware };
}
