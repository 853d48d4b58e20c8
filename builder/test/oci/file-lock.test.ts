import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { withFileLock } from '../../src/oci/file-lock.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('callers in one process take turns without finding the lock file held, one at a time, in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lk-lock-'));
  const lock = join(dir, 'index.json.lock');
  const waits: number[] = [];
  const order: string[] = [];
  let inside = 0;
  const results = await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      withFileLock(
        lock,
        async () => {
          inside++;
          order.push(`in ${i} (${inside} inside)`);
          await pause(10);
          inside--;
          if (i === 2) throw new Error('the third fails');
          return i;
        },
        5_000,
        (holder) => waits.push(holder),
      ).catch((e: Error) => e.message),
    ),
  );
  expect(results).toEqual([0, 1, 'the third fails', 3, 4]);
  expect(order).toEqual([0, 1, 2, 3, 4].map((i) => `in ${i} (1 inside)`));
  expect(waits).toEqual([]);
  expect(await readdir(dir)).toEqual([]);
});

test('a lock file held by another live process is still waited for, and taken once it goes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lk-lock-'));
  const lock = join(dir, 'x.lock');
  const other = execa('sleep', ['30']);
  await writeFile(lock, String(other.pid));
  const waits: number[] = [];
  const taken = withFileLock(
    lock,
    async () => 'mine',
    10_000,
    (holder) => waits.push(holder),
  );
  await pause(300);
  expect(waits.length).toBeGreaterThan(0);
  expect(waits[0]).toBe(other.pid);
  other.kill();
  await other.catch(() => undefined);
  expect(await taken).toBe('mine');
});
