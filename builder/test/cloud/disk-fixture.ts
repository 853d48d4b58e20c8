/** Small disks shaped like the aws format's output (protective MBR + GPT header), mostly zeros. */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

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
