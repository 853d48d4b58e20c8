import { mkdtemp, readFile, readlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { cpioStream } from '../../src/archive/cpio.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';

function sampleTree(): FsTree {
  const t = new FsTree();
  t.set('etc/hostname', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent('node\n') });
  t.set('bin/tool', { type: 'file', mode: 0o4755, uid: 0, gid: 0, content: bufferContent(Buffer.alloc(5001, 7)) });
  t.set('bin/sh', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'tool' });
  t.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
  t.mkdirp('var/empty', { type: 'dir', mode: 0o700, uid: 12, gid: 34 });
  return t;
}

describe('newc cpio writer', () => {
  test('GNU cpio lists exactly our entries, parents first', async () => {
    const data = await buffer(cpioStream(sampleTree().sorted(), 0));
    const { stdout } = await execa('cpio', ['-t', '--quiet'], { input: data });
    expect(stdout.split('\n')).toEqual(['bin', 'bin/sh', 'bin/tool', 'dev', 'dev/console', 'etc', 'etc/hostname', 'var', 'var/empty']);
  });

  test('GNU cpio extracts contents, modes and symlinks intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpio-test-'));
    const tree = sampleTree();
    tree.remove('dev'); // mknod would need privileges this test should not assume
    const data = await buffer(cpioStream(tree.sorted(), 0));
    await execa('cpio', ['-i', '--quiet', '--no-absolute-filenames', '-d'], { input: data, cwd: dir });
    expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('node\n');
    expect(await readFile(join(dir, 'bin/tool'))).toEqual(Buffer.alloc(5001, 7));
    expect((await stat(join(dir, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(dir, 'bin/sh'))).toBe('tool');
  });

  test('the same tree gives the same bytes, and the trailer ends the archive', async () => {
    const a = await buffer(cpioStream(sampleTree().sorted(), 1700000000));
    const b = await buffer(cpioStream(sampleTree().sorted(), 1700000000));
    expect(a.equals(b)).toBe(true);
    expect(a.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
    expect(a.length % 4).toBe(0);
    const c = await buffer(cpioStream(sampleTree().sorted(), 1700000001));
    expect(c.equals(a)).toBe(false);
  });

  test('a file whose content changes size mid-archive is an error, not a corrupt archive', async () => {
    const t = new FsTree();
    t.set('x', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: { size: 10, open: () => bufferContent('short').open() } });
    await expect(buffer(cpioStream(t.sorted(), 0))).rejects.toThrow(/changed size/);
  });
});
