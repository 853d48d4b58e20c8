import { open, type FileHandle } from 'node:fs/promises';

/**
 * How much is gathered before one write. A socket delivers at most 64 KiB per read; writing each
 * piece on its own costs a thread-pool round trip per piece, which made a pull spend more time
 * writing than receiving. One writev per MiB costs a fraction of that.
 */
export const writeBatchBytes = 1 << 20;

/**
 * Writes `chunks` into the new file `path` (created exclusively), gathering them into writes of
 * about `batchBytes`. `inspect` sees every chunk before it is kept and may throw to stop (the
 * caller removes the partial file). Resolves with the number of bytes written.
 */
export async function writeChunksToFile(
  path: string,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  inspect: (chunk: Buffer) => void = () => undefined,
  batchBytes = writeBatchBytes,
): Promise<number> {
  const fh = await open(path, 'wx');
  let written = 0;
  try {
    let batch: Buffer[] = [];
    let batched = 0;
    for await (const chunk of chunks) {
      inspect(chunk);
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= batchBytes) {
        written += await writeAll(fh, batch, batched);
        batch = [];
        batched = 0;
      }
    }
    if (batched > 0) written += await writeAll(fh, batch, batched);
  } finally {
    await fh.close();
  }
  return written;
}

/** One writev of `buffers` (`total` bytes), continued after a short write until all is on file. */
async function writeAll(fh: FileHandle, buffers: Buffer[], total: number): Promise<number> {
  let rest = buffers;
  let left = total;
  while (left > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new Error(`writing ${left} bytes made no progress`);
    left -= bytesWritten;
    if (left > 0) rest = [Buffer.concat(rest).subarray(bytesWritten)];
  }
  return total;
}
