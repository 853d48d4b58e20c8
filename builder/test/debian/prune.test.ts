import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { pruneIndexes } from '../../src/pkg/debian/prune.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('index files no cached InRelease lists, or of an old parsed format, are pruned once older than an hour', async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'lk-prune-'));
  dirs.push(cacheDir);
  const [listed, oldUnlisted, newUnlisted] = ['a', 'b', 'c'].map((c) => c.repeat(64));
  await mkdir(join(cacheDir, 'dists', 'bookworm-0'), { recursive: true });
  await writeFile(join(cacheDir, 'dists', 'bookworm-0', 'InRelease'), `SHA256:\n ${listed}  8790396 main/binary-amd64/Packages.xz\n`);
  await mkdir(join(cacheDir, 'indexes'));
  const names = [
    `${listed}.xz`,
    `${listed}.parsed-v1.json`,
    `${listed}.parsed-v2.json`,
    `${oldUnlisted}.xz`,
    `${oldUnlisted}.parsed-v2.json`,
    `${newUnlisted}.xz`,
  ];
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  for (const name of names) {
    await writeFile(join(cacheDir, 'indexes', name), 'x');
    if (!name.startsWith(newUnlisted!)) await utimes(join(cacheDir, 'indexes', name), twoHoursAgo, twoHoursAgo);
  }
  expect((await pruneIndexes(cacheDir)).sort()).toEqual([`${listed}.parsed-v1.json`, `${oldUnlisted}.parsed-v2.json`, `${oldUnlisted}.xz`]);
  expect((await readdir(join(cacheDir, 'indexes'))).sort()).toEqual([`${listed}.parsed-v2.json`, `${listed}.xz`, `${newUnlisted}.xz`]);
});
