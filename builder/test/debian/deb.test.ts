// .deb reading on synthetic packages: our ar reader, each data.tar compression, and corrupt input.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import { arMembers, ArFormatError } from '../../src/pkg/debian/ar.js';
import { debDataEntries } from '../../src/pkg/debian/deb.js';

function arHeader(name: string, size: number): Buffer {
  const field = (s: string, width: number) => s.padEnd(width, ' ');
  return Buffer.from(
    field(name, 16) + field('0', 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(size), 10) + '`\n',
    'latin1',
  );
}

function arArchive(members: Array<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, data] of members) {
    parts.push(arHeader(name, data.length), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

async function tarball(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: './', type: 'directory', mode: 0o755 });
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o755 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const FILES = { './bin/hello': '#!/bin/sh\necho hello\n', './etc/odd': 'x' };
let dir: string;
let plainTar: Buffer;

async function deb(name: string, dataName: string, data: Buffer, extra: Array<[string, Buffer]> = []): Promise<string> {
  const path = join(dir, name);
  const control = gzipSync(await tarball({ './control': 'Package: hello\n' }));
  await writeFile(path, arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.gz', control], ...extra, [dataName, data]]));
  return path;
}

async function entriesOf(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { header, stream } of debDataEntries(path)) {
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    out[header.name] = Buffer.concat(chunks).toString();
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lk-deb-'));
  plainTar = await tarball(FILES);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ar archives', () => {
  test('members stream intact whatever the chunk size, odd sizes padded', async () => {
    const archive = arArchive([
      ['a', Buffer.from('odd')],
      ['b.tar.xz', Buffer.alloc(4097, 7)],
      ['c', Buffer.alloc(0)],
    ]);
    for (const chunkSize of [1, 3, 60, 4096, archive.length]) {
      async function* chunks() {
        for (let i = 0; i < archive.length; i += chunkSize) yield archive.subarray(i, i + chunkSize);
      }
      const seen: Array<[string, number, string]> = [];
      for await (const m of arMembers(chunks())) {
        if (m.name === 'b.tar.xz') {
          seen.push([m.name, m.size, 'skipped']); // not read: the reader must skip it
          continue;
        }
        const parts: Buffer[] = [];
        for await (const c of m.body) parts.push(c);
        seen.push([m.name, m.size, Buffer.concat(parts).toString()]);
      }
      expect(seen).toEqual([
        ['a', 3, 'odd'],
        ['b.tar.xz', 4097, 'skipped'],
        ['c', 0, ''],
      ]);
    }
  });

  test('bad magic and truncation are errors', async () => {
    async function* one(b: Buffer) {
      yield b;
    }
    await expect(async () => {
      for await (const _ of arMembers(one(Buffer.from('not an archive')))) void _;
    }).rejects.toThrow(ArFormatError);
    const truncated = arArchive([['a', Buffer.from('abcdef')]]).subarray(0, -3);
    await expect(async () => {
      for await (const m of arMembers(one(truncated))) for await (const _ of m.body) void _;
    }).rejects.toThrow(/truncated/);
  });
});

describe('.deb data entries', () => {
  test.each([
    ['data.tar.xz', () => execFileSync('xz', ['-c'], { input: plainTar })],
    ['data.tar.zst', () => execFileSync('zstd', ['-c', '-q'], { input: plainTar })],
    ['data.tar.gz', () => gzipSync(plainTar)],
    ['data.tar', () => plainTar],
  ])('%s', async (dataName, compress) => {
    const path = await deb(`${dataName}.deb`, dataName, compress());
    expect(await entriesOf(path)).toEqual({ './': '', ...FILES });
  });

  test('unread entries are skipped', async () => {
    const path = await deb('skip.deb', 'data.tar.xz', execFileSync('xz', ['-c'], { input: plainTar }));
    const names: string[] = [];
    for await (const { header } of debDataEntries(path)) names.push(header.name);
    expect(names).toEqual(['./', './bin/hello', './etc/odd']);
  });

  test('stopping early releases the decompressor and the file', async () => {
    const big = await tarball(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`./f${i}`, 'x'.repeat(100_000)])));
    const path = await deb('big.deb', 'data.tar.xz', execFileSync('xz', ['-c', '-0'], { input: big, maxBuffer: 1 << 26 }));
    for (let round = 0; round < 3; round++) {
      let seen = 0;
      for await (const { stream } of debDataEntries(path)) {
        stream.resume();
        if (++seen === 3) break;
      }
      expect(seen).toBe(3);
    }
    const all: string[] = [];
    for await (const { header, stream } of debDataEntries(path)) {
      all.push(header.name);
      stream.resume();
    }
    expect(all).toHaveLength(201);
  });

  test('a corrupt data.tar.xz is an LkError', async () => {
    const xz = execFileSync('xz', ['-c'], { input: plainTar });
    xz.fill(0x55, 40, 80);
    const path = await deb('corrupt.deb', 'data.tar.xz', xz);
    await expect(entriesOf(path)).rejects.toThrow(LkError);
  });

  test('a file that is not a .deb is an LkError', async () => {
    const path = join(dir, 'not.deb');
    await writeFile(path, 'hello');
    await expect(entriesOf(path)).rejects.toThrow(/not a valid \.deb/);
  });
});
