import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';

describe('atomic outputs', () => {
  test('files appear only on commit, all together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    const out = new AtomicOutputs();
    await out.write(join(dir, 'a-kernel'), Buffer.from('k'));
    await out.write(join(dir, 'a-cmdline'), 'console=ttyS0');
    expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([]);
    await out.commit();
    expect((await readdir(dir)).sort()).toEqual(['a-cmdline', 'a-kernel']);
    expect(await readFile(join(dir, 'a-cmdline'), 'utf8')).toBe('console=ttyS0');
  });

  test('a failing source leaves no output and no temporary file after abort', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    const out = new AtomicOutputs();
    await out.write(join(dir, 'a-kernel'), Buffer.from('k'));
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk full'));
      },
    });
    await expect(out.write(join(dir, 'a-initrd.img'), failing)).rejects.toThrow(/disk full/);
    await out.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  test('abort removes the directories the outputs created when they are empty, and only those', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    await mkdir(join(dir, 'kept'));
    await writeFile(join(dir, 'kept', 'mine'), 'x');
    const out = new AtomicOutputs();
    await out.write(join(dir, 'new', 'deep', 'a-kernel'), Buffer.from('k'));
    await out.write(join(dir, 'kept', 'a-kernel'), Buffer.from('k'));
    await out.abort();
    expect(await readdir(dir)).toEqual(['kept']);
    expect(await readdir(join(dir, 'kept'))).toEqual(['mine']);
  });
});
