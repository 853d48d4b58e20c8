// Read-only bundles share identical files; the initrd holds them once, as hard links.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioStream } from '../../src/archive/cpio.js';
import { assembleNode, type AssembledNode } from '../../src/assemble/node.js';
import { AssembleFixture, emptySpec } from './fixture.js';

const TOOL = 'a tool several images carry\n'.repeat(200);

describe('identical files of read-only bundles', () => {
  let t: AssembleFixture;
  let node: AssembledNode;
  let out: string;
  let archive: Buffer;

  beforeAll(async () => {
    t = await AssembleFixture.create('lk-shared-');
    await t.image('test/one:1', { 'bin/tool': TOOL, 'etc/name': 'one\n' });
    await t.image('test/two:1', { 'bin/tool': TOOL, 'etc/name': 'two\n' });
    node = await assembleNode({
      spec: emptySpec({
        onboot: [{ name: 'first', image: 'test/one:1', readonly: true }],
        services: [
          { name: 'second', image: 'test/two:1', readonly: true },
          { name: 'writable', image: 'test/two:1' },
        ],
      }),
      images: t.images,
      layers: t.layers,
      spool: t.spool,
    });
    archive = await buffer(cpioStream(node.tree.sorted(), 0));
    out = await mkdtemp(join(tmpdir(), 'lk-shared-out-'));
    await execa('cpio', ['-i', '--quiet', '--no-absolute-filenames', '-d'], { input: archive, cwd: out });
  });
  afterAll(async () => t?.dispose());

  const inode = async (path: string) => (await stat(join(out, path))).ino;

  it('become one inode in the archive, with the data intact under every name', async () => {
    expect(await inode('containers/onboot/000-first/rootfs/bin/tool')).toBe(await inode('containers/services/second/rootfs/bin/tool'));
    expect((await stat(join(out, 'containers/services/second/rootfs/bin/tool'))).nlink).toBe(2);
    for (const c of ['onboot/000-first', 'services/second', 'services/writable']) {
      expect(await readFile(join(out, `containers/${c}/rootfs/bin/tool`), 'utf8')).toBe(TOOL);
    }
    expect(await readFile(join(out, 'containers/services/second/rootfs/etc/name'), 'utf8')).toBe('two\n');
  });

  it('are stored once: the archive holds the data two times (shared + writable), not three', () => {
    let copies = 0;
    for (let at = archive.indexOf(TOOL); at >= 0; at = archive.indexOf(TOOL, at + 1)) copies++;
    expect(copies).toBe(2);
  });

  it('are never shared with a container whose root is writable', async () => {
    const writable = await inode('containers/services/writable/rootfs/bin/tool');
    expect(writable).not.toBe(await inode('containers/services/second/rootfs/bin/tool'));
    expect((await stat(join(out, 'containers/services/writable/rootfs/bin/tool'))).nlink).toBe(1);
  });
});
