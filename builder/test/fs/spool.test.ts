// The spool batches its writes: every content reads back byte for byte, whether it is read
// before its batch reached the file or after, small or larger than a batch.
import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterEach, expect, test } from 'vitest';
import { Spool } from '../../src/fs/spool.js';

let spool: Spool | undefined;
afterEach(async () => spool?.dispose());

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

test('contents of every size read back as added, in any order, before and after their batch is written', async () => {
  spool = await Spool.create();
  const sizes = [0, 1, 100, 4096, 65_537, 3 << 20, 7, 1 << 20, 513];
  const added: { data: Buffer; content: Awaited<ReturnType<Spool['add']>> }[] = [];
  for (const size of sizes) {
    const data = randomBytes(size);
    const content = await spool.add(chunks(data, 10_000), size);
    expect(content.size).toBe(size);
    expect(content.digest).toBe(createHash('sha256').update(data).digest('hex'));
    // read at once: the small ones are still in the pending batch
    expect((await buffer(content.open())).equals(data)).toBe(true);
    added.push({ data, content });
  }
  for (const { data, content } of added.reverse()) expect((await buffer(content.open())).equals(data)).toBe(true);
});

test('a source shorter than its tar header says is an error', async () => {
  spool = await Spool.create();
  await expect(spool.add(chunks(Buffer.alloc(10), 4), 12)).rejects.toThrow('spool: expected 12 bytes, got 10');
});
