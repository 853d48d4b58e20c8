import { access, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { expect, test } from 'vitest';
import { CompressedRoot } from '../../src/formats/compressed-root.js';

test('the root is made once however many formats ask, and removed on dispose', async () => {
  const root = new CompressedRoot();
  let made = 0;
  const make = () => {
    made++;
    return Readable.from([Buffer.from('root bytes')]);
  };
  const [a, b] = await Promise.all([root.file(make), root.file(make)]);
  const c = await root.file(make);
  expect(made).toBe(1);
  expect(new Set([a, b, c]).size).toBe(1);
  expect(await readFile(a, 'utf8')).toBe('root bytes');
  await root.dispose();
  await expect(access(dirname(a))).rejects.toThrow(/ENOENT/);
});

test('a failure while compressing fails every format that waits for it', async () => {
  const root = new CompressedRoot();
  const broken = () =>
    Readable.from(
      (async function* () {
        yield Buffer.from('part');
        throw new Error('cpio failed');
      })(),
    );
  await expect(root.file(broken)).rejects.toThrow(/cpio failed/);
  await expect(root.file(() => Readable.from([]))).rejects.toThrow(/cpio failed/);
  await root.dispose();
});
