import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { compressedCpioStream, parseInitrdCompression } from '../../src/archive/compress.js';
import { cpioBlocks, cpioStream } from '../../src/archive/cpio.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';

const MiB = 1 << 20;

/** Three files of 1.5 MiB (incompressible enough to keep members apart) and small ones between. */
function bigTree(): FsTree {
  const t = new FsTree();
  for (const name of ['a', 'b', 'c']) {
    const data = Buffer.alloc(1.5 * MiB);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) >>> 27) ^ name.charCodeAt(0);
    t.set(`big/${name}.bin`, { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent(data) });
    t.set(`small/${name}.txt`, { type: 'file', mode: 0o600, uid: 1, gid: 2, content: bufferContent(`${name}\n`) });
  }
  return t;
}

/** Offsets where a newc header starts, found by walking the archive (names and sizes from the headers). */
function entryStarts(cpio: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < cpio.length; ) {
    expect(cpio.toString('ascii', at, at + 6)).toBe('070701');
    starts.push(at);
    const field = (i: number) => parseInt(cpio.toString('ascii', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    at += Math.ceil((110 + field(11)) / 4) * 4 + Math.ceil(field(6) / 4) * 4;
  }
  return starts;
}

describe('the initrd in blocks of whole entries', () => {
  test('blocks concatenate to the archive and each ends where an entry ends', async () => {
    const whole = await buffer(cpioStream(bigTree().sorted(), 0));
    const blocks: Buffer[] = [];
    for await (const b of cpioBlocks(bigTree().sorted(), 0, MiB)) blocks.push(b);
    expect(Buffer.concat(blocks).equals(whole)).toBe(true);
    // big/a.bin, big/b.bin and big/c.bin each end a block; the small entries and the trailer make the last.
    expect(blocks).toHaveLength(4);
    const starts = new Set(entryStarts(whole));
    let offset = 0;
    for (const b of blocks.slice(0, -1)) {
      offset += b.length;
      expect(b.length).toBeGreaterThanOrEqual(MiB);
      expect(starts.has(offset), `a block ends inside an entry at ${offset}`).toBe(true);
    }
  });
});

describe('initrd compression', () => {
  test('gzip: one member per block, the same bytes on 1 or 3 cores, and gzip -dc gives the archive back', async () => {
    const whole = await buffer(cpioStream(bigTree().sorted(), 0));
    const one = await buffer(compressedCpioStream(bigTree().sorted(), 0, 'gzip', 1));
    const three = await buffer(compressedCpioStream(bigTree().sorted(), 0, 'gzip', 3));
    expect(three.equals(one)).toBe(true);
    const { stdout } = await execa('gzip', ['-dc'], { input: one, encoding: 'buffer' });
    expect(Buffer.from(stdout).equals(whole)).toBe(true);
    // Every member starts with the same 10-byte header (deflate, no name, mtime 0, Unix).
    const header = Buffer.from('1f8b0800000000000003', 'hex');
    const members: number[] = [];
    for (let at = one.indexOf(header); at >= 0; at = one.indexOf(header, at + 1)) members.push(at);
    expect(members[0]).toBe(0);
    expect(members).toHaveLength(4);
    expect(gunzipSync(one.subarray(0, members[1])).length).toBeGreaterThanOrEqual(MiB);
  });

  test('zstd -dc and none give the archive back', async () => {
    const whole = await buffer(cpioStream(bigTree().sorted(), 0));
    const zstd = await buffer(compressedCpioStream(bigTree().sorted(), 0, 'zstd'));
    expect(zstd.subarray(0, 4).toString('hex')).toBe('28b52ffd');
    const { stdout } = await execa('zstd', ['-dc'], { input: zstd, encoding: 'buffer' });
    expect(Buffer.from(stdout).equals(whole)).toBe(true);
    expect((await buffer(compressedCpioStream(bigTree().sorted(), 0, 'none'))).equals(whole)).toBe(true);
  });

  test('an unknown compression is a usage error naming the value', () => {
    expect(() => parseInitrdCompression('xz')).toThrow('--compression "xz" is not one of gzip, zstd, none');
    expect(parseInitrdCompression('zstd')).toBe('zstd');
  });
});
