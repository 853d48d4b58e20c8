import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { writeSeedIso } from '../../src/run/seed-iso.js';

describe('the NoCloud seed ISO', () => {
  test('holds user-data and meta-data under the volume label cidata, as xorriso reads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-seed-'));
    const iso = join(dir, 'seed.iso');
    await writeSeedIso(iso, Buffer.from('#cloud-config\nhostname: n1\n'), 'instance-id: i-1\nlocal-hostname: n1\n');
    expect(await readdir(dir)).toEqual(['seed.iso']);
    const out = join(dir, 'out');
    const { stderr } = await execa('xorriso', ['-indev', iso, '-osirrox', 'on', '-extract', '/', out]);
    expect(stderr).toMatch(/^Volume id\s*: 'cidata'$/m);
    expect(await readFile(join(out, 'user-data'), 'utf8')).toBe('#cloud-config\nhostname: n1\n');
    expect(await readFile(join(out, 'meta-data'), 'utf8')).toBe('instance-id: i-1\nlocal-hostname: n1\n');
  });

  test('a failure leaves neither the ISO nor a temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-seed-'));
    const path = process.env.PATH;
    process.env.PATH = await mkdtemp(join(tmpdir(), 'empty-path-'));
    try {
      await expect(writeSeedIso(join(dir, 'seed.iso'), Buffer.from('x'), 'y')).rejects.toMatchObject({
        message: 'the NoCloud seed needs xorriso, which is not installed',
        hint: 'install the Debian package xorriso on the build host',
      });
    } finally {
      process.env.PATH = path;
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
