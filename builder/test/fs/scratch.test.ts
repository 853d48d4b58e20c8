// Scratch directories go where LKBUILD_TMPDIR says, for the helpers and for the format writers.
import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { formatWriter } from '../../src/formats/index.js';
import { scratchParent, withScratch } from '../../src/fs/scratch.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';
import type { AssembledNode } from '../../src/assemble/node.js';

let parent = '';
const saved = process.env.LKBUILD_TMPDIR;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'lk-scratch-parent-'));
});
afterEach(() => {
  if (saved === undefined) delete process.env.LKBUILD_TMPDIR;
  else process.env.LKBUILD_TMPDIR = saved;
});
afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('withScratch', () => {
  test('makes its directory under LKBUILD_TMPDIR and removes it afterwards', async () => {
    process.env.LKBUILD_TMPDIR = parent;
    let seen = '';
    const r = await withScratch(async (dir) => {
      seen = dir;
      await writeFile(join(dir, 'f'), 'x');
      expect(await readdir(parent)).toEqual([dir.slice(parent.length + 1)]);
      return 42;
    });
    expect(r).toBe(42);
    expect(seen.startsWith(`${parent}/lkbuild-format-`)).toBe(true);
    expect(await readdir(parent)).toEqual([]);
  });

  test('removes it when fn fails too', async () => {
    process.env.LKBUILD_TMPDIR = parent;
    await expect(withScratch(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await readdir(parent)).toEqual([]);
  });

  test("without LKBUILD_TMPDIR, the system's temporary directory", async () => {
    delete process.env.LKBUILD_TMPDIR;
    expect(scratchParent()).toBe(tmpdir());
    await withScratch(async (dir) => expect(dir.startsWith(join(tmpdir(), 'lkbuild-format-'))).toBe(true));
    expect(scratchParent({ LKBUILD_TMPDIR: '' })).toBe(tmpdir());
  });

  test('a LKBUILD_TMPDIR that does not exist is an LkError naming it', async () => {
    process.env.LKBUILD_TMPDIR = join(parent, 'missing');
    const e = await withScratch(async () => 1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).message).toContain(join(parent, 'missing'));
    expect((e as LkError).hint).toMatch(/LKBUILD_TMPDIR/);
  });
});

describe('format writers', () => {
  test('stage their files under LKBUILD_TMPDIR', async () => {
    process.env.LKBUILD_TMPDIR = parent;
    // The kernel is read while the initrd is staged: look at LKBUILD_TMPDIR then.
    let during: string[] = [];
    const kernel = Buffer.alloc(4096, 0x4b);
    const node = {
      tree: new FsTree(),
      kernel: {
        size: kernel.length,
        open: () => {
          during = readdirSync(parent);
          return Readable.from([kernel]);
        },
      },
      cmdline: 'console=ttyS0',
    } as unknown as AssembledNode;
    node.tree.set('init', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: bufferContent('#!/bin/sh\n') });
    const out = await mkdtemp(join(tmpdir(), 'lk-scratch-out-'));
    const outputs = new AtomicOutputs();
    await formatWriter('tar-kernel-initrd')({ node, base: join(out, 'node'), sourceDateEpoch: 0, outputs });
    await outputs.commit();
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^lkbuild-format-/);
    expect(await readdir(parent)).toEqual([]);
    expect((await stat(join(out, 'node-initrd.tar'))).size).toBeGreaterThan(4096);
    await rm(out, { recursive: true, force: true });
  });
});
