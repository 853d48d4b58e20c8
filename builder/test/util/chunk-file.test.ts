import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { writeChunksToFile } from '../../src/util/chunk-file.js';

/** Chunks of uneven sizes (1 byte to 100 KiB), as sockets deliver them. */
function unevenChunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => randomBytes(1 + ((i * 7919) % (100 << 10))));
}

describe('writing chunks to a file in batches', () => {
  test('the file holds every chunk in order, across batch boundaries, from a stream or a generator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-chunks-'));
    const chunks = unevenChunks(90);
    const whole = Buffer.concat(chunks);
    expect(whole.length).toBeGreaterThan(3 << 20);
    const fromStream = await writeChunksToFile(join(dir, 'a'), Readable.from(chunks));
    async function* generated() {
      yield* chunks;
    }
    const fromGenerator = await writeChunksToFile(join(dir, 'b'), generated(), undefined, 256 << 10);
    expect(fromStream).toBe(whole.length);
    expect(fromGenerator).toBe(whole.length);
    expect((await readFile(join(dir, 'a'))).equals(whole)).toBe(true);
    expect((await readFile(join(dir, 'b'))).equals(whole)).toBe(true);
  });

  test('inspect sees every chunk before it is kept; a throw stops reading and closes the source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-chunks-'));
    let produced = 0;
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) {
          produced++;
          yield Buffer.alloc(1000, i);
        }
      } finally {
        closed = true;
      }
    }
    let seen = 0;
    const write = writeChunksToFile(join(dir, 'x'), source(), (chunk) => {
      seen += chunk.length;
      if (seen > 5000) throw new Error('too much');
    });
    await expect(write).rejects.toThrow('too much');
    expect(produced).toBe(6);
    expect(closed).toBe(true);
  });

  test('never overwrites: an existing file is an error and stays as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-chunks-'));
    await writeFile(join(dir, 'taken'), 'old');
    await expect(writeChunksToFile(join(dir, 'taken'), [Buffer.from('new')])).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(join(dir, 'taken'), 'utf8')).toBe('old');
  });
});
