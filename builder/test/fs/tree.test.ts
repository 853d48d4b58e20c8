import { describe, expect, test } from 'vitest';
import { FsTree, comparePaths, normalizePath } from '../../src/fs/tree.js';

describe('FsTree', () => {
  test('paths are normalised and .. is refused', () => {
    expect(normalizePath('/a//b/./c/')).toBe('a/b/c');
    expect(() => normalizePath('a/../../etc/passwd')).toThrow(/leaves its root/);
  });

  test('sorting puts a directory right before its children', () => {
    const paths = ['a.b', 'a/c', 'a', 'a/b/c', 'a-b'];
    expect(paths.sort(comparePaths)).toEqual(['a', 'a/b/c', 'a/c', 'a-b', 'a.b']);
  });

  test('set creates parents and remove takes the whole subtree', () => {
    const t = new FsTree();
    t.set('a/b/c', { type: 'file', mode: 0o644, uid: 0, gid: 0 });
    expect(t.sorted().map(([p]) => p)).toEqual(['a', 'a/b', 'a/b/c']);
    t.remove('a/b');
    expect(t.sorted().map(([p]) => p)).toEqual(['a']);
  });

  test('writing through a symlink is refused', () => {
    const t = new FsTree();
    t.set('etc', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '/host/etc' });
    expect(() => t.set('etc/passwd', { type: 'file', mode: 0o644, uid: 0, gid: 0 })).toThrow(/goes through the symlink/);
  });
});
