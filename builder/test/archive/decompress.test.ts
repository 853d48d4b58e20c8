// The one decompressor (.debs, Debian indexes, image layers) against data made by the host's
// own gzip, xz and zstd: it round-trips, and damaged input is an LkError, never a short stream.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { decompress, type Compression } from '../../src/archive/decompress.js';
import { LkError } from '../../src/errors.js';

const tools: Array<[Compression, string[]]> = [
  ['gz', ['gzip', '-c']],
  ['xz', ['xz', '-c']],
  ['zst', ['zstd', '-c', '-q']],
];

async function compressWith(command: string[], data: Buffer): Promise<Buffer> {
  const r = await execa(command[0]!, command.slice(1), { input: data, encoding: 'buffer' });
  return Buffer.from(r.stdout);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe.each(tools)('%s', (compression, command) => {
  const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(300_000, 'a')]);

  test('round-trips what the host tool compressed', async () => {
    const packed = await compressWith(command, data);
    expect((await readAll(decompress(Readable.from([packed]), compression, 'test data'))).equals(data)).toBe(true);
  });

  test('a truncated stream is an LkError naming the data, not a short result', async () => {
    const packed = await compressWith(command, data);
    const e = await readAll(decompress(Readable.from([packed.subarray(0, packed.length >> 1)]), compression, 'layer sha256:abc')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).kind).toBe('archive');
    expect((e as LkError).message).toContain('layer sha256:abc');
  });
});
