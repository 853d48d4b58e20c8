// lk-run's path walk inside a root (lk-run/resolve.c), which stands in for openat2 on kernels
// without it and creates what is missing, checked against the kernel's own
// openat2(RESOLVE_IN_ROOT) on a tree of hostile links: both must reach the same inode or fail
// with the same error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratch } from './harness.js';

const tmp = scratch('resolve');
const root = join(tmp.dir, 'root');
const checker = join(tmp.dir, 'resolve-check');

beforeAll(() => {
  execFileSync('musl-gcc', [
    '-static',
    '-O1',
    '-D_GNU_SOURCE',
    '-o',
    checker,
    fileURLToPath(new URL('resolve-check.c', import.meta.url)),
    fileURLToPath(new URL('../../../lk-run/err.c', import.meta.url)),
  ]);
  mkdirSync(join(root, 'b'), { recursive: true });
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'b/c'), 'c');
  writeFileSync(join(tmp.dir, 'outside'), 'host');
  symlinkSync('b', join(root, 'a'));
  symlinkSync('/b', join(root, 'abs'));
  symlinkSync('../../../../b', join(root, 'up'));
  symlinkSync('x/../b', join(root, 'through-missing'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('../b/c', join(root, 'd/e'));
  symlinkSync('../outside', join(root, 'escape'));
  symlinkSync(join(tmp.dir, 'outside'), join(root, 'escape-abs'));
  symlinkSync('/proc/self/root', join(root, 'magic'));
});
afterAll(() => tmp.cleanup());

describe('the walk agrees with openat2(RESOLVE_IN_ROOT)', () => {
  const paths = [
    'a/c',
    'abs/c',
    'up/c',
    '/../../b/c',
    'b/../../b/c',
    'a/../a/c',
    '.',
    '/',
    'd/e',
    'd/../a/c',
    'through-missing',
    'through-missing/c',
    'loop1',
    'b/c/x',
    'missing',
    'escape',
    'escape-abs',
    'magic/b',
  ];

  it.each(paths)('%s', (path) => {
    const out = execFileSync(checker, [root, path], { encoding: 'utf8' }).trim();
    const m = /^(.*) kernel=(.*) walk=(.*)$/.exec(out);
    expect(m, out).not.toBeNull();
    expect(m![3]).toBe(m![2]);
  });

  it('never reaches outside the root', () => {
    const out = execFileSync(checker, [root, 'escape', 'escape-abs', 'up/c'], { encoding: 'utf8' });
    expect(out).toBe(
      `escape kernel=No such file or directory walk=No such file or directory\n` +
        `escape-abs kernel=No such file or directory walk=No such file or directory\n` +
        out.split('\n')[2] +
        '\n',
    );
    expect(out.split('\n')[2]).toMatch(/^up\/c kernel=\d+ walk=\d+$/);
  });
});
