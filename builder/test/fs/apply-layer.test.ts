import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { applyLayer } from '../../src/fs/apply-layer.js';
import { Spool } from '../../src/fs/spool.js';
import { FsTree } from '../../src/fs/tree.js';
import { tarStream, type TarItem } from '../helpers/tar-layer.js';

const layer = tarStream;
type Item = TarItem;

describe('applying layers', () => {
  let spool: Spool;
  beforeAll(async () => (spool = await Spool.create()));
  afterAll(async () => spool.dispose());

  const paths = (t: FsTree) => t.sorted().map(([p]) => p);

  test('files land below the prefix with their data and modes', async () => {
    const t = new FsTree();
    await applyLayer(
      t,
      layer([
        { name: 'bin/', type: 'directory', mode: 0o755 },
        { name: 'bin/app', body: 'binary', mode: 0o755 },
      ]),
      'c/rootfs',
      spool,
    );
    expect(paths(t)).toEqual(['c', 'c/rootfs', 'c/rootfs/bin', 'c/rootfs/bin/app']);
    const app = t.get('c/rootfs/bin/app')!;
    expect(app.mode).toBe(0o755);
    expect(await text(app.content!.open())).toBe('binary');
  });

  test('device nodes outside /dev are left out with a warning naming the image', async () => {
    const t = new FsTree();
    const warnings: string[] = [];
    const items: Item[] = [
      { name: 'tmp/disk', type: 'block-device', mode: 0o666, devmajor: 7, devminor: 0 },
      { name: 'opt/mem', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 1 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    ];
    await applyLayer(t, layer(items), 'c/rootfs', spool, { image: 'example/evil:1', warn: (m) => warnings.push(m) });
    expect(t.get('c/rootfs/tmp/disk')).toBeUndefined();
    expect(t.get('c/rootfs/opt/mem')).toBeUndefined();
    expect(t.get('c/rootfs/dev/null')?.type).toBe('char');
    expect(warnings).toEqual([
      'example/evil:1: left out the block device /tmp/disk: device nodes belong in /dev',
      'example/evil:1: left out the char device /opt/mem: device nodes belong in /dev',
    ]);
  });

  test('whiteouts delete and opaque markers clear lower layers', async () => {
    const t = new FsTree();
    await applyLayer(t, layer([{ name: 'a/keep' }, { name: 'a/gone' }, { name: 'd/old' }]), '', spool);
    await applyLayer(t, layer([{ name: 'a/.wh.gone' }, { name: 'd/.wh..wh..opq' }, { name: 'd/new' }]), '', spool);
    expect(paths(t)).toEqual(['a', 'a/keep', 'd', 'd/new']);
  });

  test('hard links share the target data', async () => {
    const t = new FsTree();
    await applyLayer(
      t,
      layer([
        { name: 'x', body: 'same' },
        { name: 'y', type: 'link', linkname: 'x' },
      ]),
      '',
      spool,
    );
    expect(await text(t.get('y')!.content!.open())).toBe('same');
  });

  test('a ../ path is rejected', async () => {
    await expect(applyLayer(new FsTree(), layer([{ name: '../../etc/passwd', body: 'pwned' }]), 'c/rootfs', spool)).rejects.toThrow(
      /leaves its root/,
    );
  });

  test('writing through an escaping symlink is rejected', async () => {
    const items: Item[] = [
      { name: 'evil', type: 'symlink', linkname: '../../../../etc' },
      { name: 'evil/passwd', body: 'pwned' },
    ];
    await expect(applyLayer(new FsTree(), layer(items), 'c/rootfs', spool)).rejects.toThrow(/goes through the symlink/);
  });

  test('a hard link to a file outside the layer stack is rejected', async () => {
    await expect(applyLayer(new FsTree(), layer([{ name: 'x', type: 'link', linkname: '/etc/shadow' }]), '', spool)).rejects.toThrow(
      /not a file in this layer stack/,
    );
  });
});
