import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFileAtomic, writeThenRename } from '../../src/util/atomic-file.js';

describe('write then rename', () => {
  test('replaces a file whole, leaving no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-atomic-'));
    await writeFile(join(dir, 'index.json'), 'old');
    await writeFileAtomic(join(dir, 'index.json'), 'new');
    expect(await readFile(join(dir, 'index.json'), 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['index.json']);
  });

  test('a failed write leaves the old file and no temporary file, and passes the error on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-atomic-'));
    await writeFile(join(dir, 'blob'), 'old');
    const failing = writeThenRename(dir, async (temp) => {
      await writeFile(temp, 'half');
      throw new Error('digest mismatch');
    });
    await expect(failing).rejects.toThrow('digest mismatch');
    expect(await readFile(join(dir, 'blob'), 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['blob']);
  });

  test('names its temporary file after the writing process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-atomic-'));
    let seen = '';
    await writeThenRename(dir, async (temp) => {
      seen = temp;
      await writeFile(temp, 'x');
      return join(dir, 'final');
    });
    expect(seen.startsWith(join(dir, `.tmp-${process.pid}-`))).toBe(true);
  });
});
