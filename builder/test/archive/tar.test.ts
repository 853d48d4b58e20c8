// The one tar writer, byte by byte, and tarFromDir read back with GNU tar.
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { paxRecord, tarEntry, tarHeader } from '../../src/archive/tar.js';
import { tarFromDir } from '../../src/archive/tar-from-dir.js';

const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC

describe('tar writer', () => {
  test('pax records count their own length', () => {
    expect(paxRecord('path', 'a').toString()).toBe('9 path=a\n');
    // ' path=' + 91 + '\n' is 98 bytes: with two digits 100, which needs three: 101.
    const r = paxRecord('path', 'p'.repeat(91));
    expect(r.length).toBe(Number(r.toString().split(' ')[0]));
    expect(r.length).toBe(101);
  });

  test('a ustar header: fields, checksum, no owner names', () => {
    const h = tarHeader({ name: 'bin/sh', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 10, mtime: EPOCH });
    expect(h.length).toBe(512);
    expect(h.toString('ascii', 0, 6)).toBe('bin/sh');
    expect(h.toString('ascii', 100, 107)).toBe('0004755');
    expect(h.toString('ascii', 124, 135)).toBe('00000000012');
    expect(h.toString('ascii', 136, 147)).toBe(EPOCH.toString(8).padStart(11, '0'));
    expect(h.toString('ascii', 257, 265)).toBe('ustar\x0000');
    expect(h.subarray(265, 329).every((b) => b === 0)).toBe(true);
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    expect(parseInt(h.toString('ascii', 148, 154), 8)).toBe(copy.reduce((a, b) => a + b, 0));
  });

  test('what ustar cannot hold goes into a pax header in front', () => {
    const h = tarHeader({ name: 'a/b', type: 'file', mode: 0o644, uid: 3_000_000, gid: 0, size: 0, mtime: EPOCH });
    expect(h.length).toBe(3 * 512);
    expect(h[156]).toBe('x'.charCodeAt(0));
    expect(h.toString('utf8', 512, 512 + 15)).toBe('15 uid=3000000\n');
    expect(h.toString('ascii', 1024 + 108, 1024 + 115)).toBe('7777777'); // the ustar field holds what fits
  });

  test('an entry whose data does not match its declared size fails', async () => {
    const drain = async (g: AsyncGenerator<Buffer>) => {
      for await (const _ of g) void _;
    };
    await expect(
      drain(tarEntry({ name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtime: 0 }, Buffer.from('four'))),
    ).rejects.toThrow('/f changed size while it was archived: 3 bytes when the build began, more than 3 bytes when read');
  });
});

describe('tarFromDir', () => {
  let src = '';
  const long = `deep/${'a'.repeat(90)}/${'b'.repeat(90)}/f`;
  beforeAll(async () => {
    src = await mkdtemp(join(tmpdir(), 'lk-tar-from-dir-'));
    await mkdir(join(src, 'bin'));
    await mkdir(join(src, long, '..'), { recursive: true });
    await writeFile(join(src, 'bin/busybox'), 'x'.repeat(5000));
    await chmod(join(src, 'bin/busybox'), 0o4755);
    await link(join(src, 'bin/busybox'), join(src, 'bin/sh'));
    await symlink('busybox', join(src, 'bin/ls'));
    await writeFile(join(src, 'empty'), '');
    await chmod(join(src, 'empty'), 0o600);
    await writeFile(join(src, long), 'hi\n');
    await writeFile(join(src, 'ünï'), 'u\n');
  });
  afterAll(async () => {
    await rm(src, { recursive: true, force: true });
  });

  async function pack(mtime: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of tarFromDir(src, mtime)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  test('sorted entries, owners 0:0, the given mtime, hard links and long and non-ASCII names, as GNU tar reads them', async () => {
    const file = join(src, '..', `${src.split('/').pop()}.tar`);
    await writeFile(file, await pack(EPOCH));
    const { stdout } = await execa('tar', ['--numeric-owner', '--full-time', '-tvf', file], { env: { TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
    await rm(file);
    const when = '2023-11-14 22:13:20';
    expect(stdout.split('\n').map((l) => l.replace(/ +/g, ' '))).toEqual([
      `drwxr-xr-x 0/0 0 ${when} bin/`,
      `-rwsr-xr-x 0/0 5000 ${when} bin/busybox`,
      `lrwxrwxrwx 0/0 0 ${when} bin/ls -> busybox`,
      `hrwsr-xr-x 0/0 0 ${when} bin/sh link to bin/busybox`,
      `drwxr-xr-x 0/0 0 ${when} deep/`,
      `drwxr-xr-x 0/0 0 ${when} deep/${'a'.repeat(90)}/`,
      `drwxr-xr-x 0/0 0 ${when} deep/${'a'.repeat(90)}/${'b'.repeat(90)}/`,
      `-rw-r--r-- 0/0 3 ${when} ${long}`,
      `-rw------- 0/0 0 ${when} empty`,
      `-rw-r--r-- 0/0 2 ${when} ünï`,
    ]);
  });

  test('the same tree gives the same bytes; another mtime other bytes', async () => {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const a = await pack(EPOCH);
    expect(sha(await pack(EPOCH))).toBe(sha(a));
    expect(sha(await pack(EPOCH + 1))).not.toBe(sha(a));
    expect(a.length % 512).toBe(0);
    expect(a.subarray(a.length - 1024).every((b) => b === 0)).toBe(true);
  });
});
