import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleNode } from '../../src/assemble/node.js';
import { bindVolumes } from '../../src/assemble/volumes.js';
import type { VolumeSpec } from '../../src/config/index.js';
import type { FsTree } from '../../src/fs/tree.js';
import { AssembleFixture, emptySpec, fileText } from './fixture.js';

type Mount = { destination: string; type: string; source: string; options?: string[] };

const vols = (...list: VolumeSpec[]) => new Map(list.map((v) => [v.name, v]));

describe('bindVolumes', () => {
  const config = (mounts: Mount[]) => ({ ociVersion: '1.1.0', mounts });

  it('turns binds of volume names into binds of the volume directories and leaves host paths alone', () => {
    const out = bindVolumes(
      config([
        { destination: '/data', type: 'bind', source: 'data', options: ['rw', 'rbind', 'rprivate'] },
        { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['ro', 'rbind'] },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
      ]),
      vols({ name: 'data', image: '' }),
      'web',
    );
    expect(out.mounts).toEqual([
      { destination: '/data', type: 'bind', source: '/containers/volumes/data', options: ['rw', 'rbind', 'rprivate'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['ro', 'rbind'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
    ]);
  });

  it('binds a read-only volume read-only, whatever the bind asked for', () => {
    const out = bindVolumes(
      config([
        { destination: '/a', type: 'bind', source: 'conf', options: ['rw', 'rbind', 'rprivate'] },
        { destination: '/b', type: 'bind', source: 'conf', options: ['ro', 'rbind'] },
      ]),
      vols({ name: 'conf', image: 'alpine:3.20', readonly: true }),
      'web',
    );
    expect(out.mounts.map((m) => [m.source, m.options])).toEqual([
      ['/containers/volumes/conf', ['rbind', 'rprivate', 'ro']],
      ['/containers/volumes/conf', ['rbind', 'ro']],
    ]);
  });

  it('refuses a bind of a volume that is not defined, naming the container', () => {
    const run = () =>
      bindVolumes(config([{ destination: '/x', type: 'bind', source: 'cache', options: [] }]), vols({ name: 'data', image: '' }), 'worker');
    expect(run).toThrow('container worker: the bind of "cache" on /x names no volume');
  });
});

describe('volumes in the assembled node', () => {
  let fx: AssembleFixture;

  beforeAll(async () => {
    fx = await AssembleFixture.create('lk-volumes-');
    await fx.image('test/seed:1', { 'seed/hello.txt': 'seeded\n' });
    await fx.image('test/app:1', { 'bin/app': 'app' });
    await fx.image('test/labelled:1', { 'bin/app': 'app' }, { binds: ['scratch:/from-label'] });
  });
  afterAll(async () => fx?.dispose());

  const json = async (tree: FsTree, path: string) => JSON.parse(await fileText(tree, path));

  it("puts each volume's image at /containers/volumes/<name>/, an empty directory without one, and binds containers to it", async () => {
    const node = await assembleNode({
      spec: emptySpec({
        volumes: [
          { name: 'seeded', image: 'test/seed:1' },
          { name: 'scratch', image: '' },
          { name: 'conf', image: 'test/seed:1', readonly: true },
        ],
        onboot: [{ name: 'writer', image: 'test/app:1', binds: ['scratch:/scratch', 'conf:/conf:ro'] }],
        services: [
          {
            name: 'labelled',
            image: 'test/labelled:1',
            mounts: [{ type: 'bind', source: 'seeded', destination: '/seeded', options: ['rbind'] }],
          },
        ],
      }),
      images: fx.images,
      layers: fx.layers,
      spool: fx.spool,
    });
    const tree = node.tree;
    expect(tree.get('containers/volumes/seeded/seed/hello.txt')?.type).toBe('file');
    expect(tree.get('containers/volumes/conf/seed/hello.txt')?.type).toBe('file');
    expect(tree.get('containers/volumes/scratch')?.type).toBe('dir');
    expect(tree.sorted().filter(([p]) => p.startsWith('containers/volumes/scratch/'))).toEqual([]);

    const binds = (c: { mounts: Mount[] }) => c.mounts.filter((m) => m.type === 'bind').map((m) => [m.destination, m.source, m.options]);
    expect(binds(await json(tree, 'containers/onboot/000-writer/config.json'))).toEqual([
      ['/scratch', '/containers/volumes/scratch', ['rw', 'rbind', 'rprivate']],
      ['/conf', '/containers/volumes/conf', ['rbind', 'ro']],
    ]);
    // A bind from the image's label names a volume just as one in the YAML does.
    expect(binds(await json(tree, 'containers/services/labelled/config.json'))).toEqual([
      ['/from-label', '/containers/volumes/scratch', ['rw', 'rbind', 'rprivate']],
      ['/seeded', '/containers/volumes/seeded', ['rbind']],
    ]);
  });

  it('refuses volumes in the OCI layout format, which it cannot lay out yet', async () => {
    const run = assembleNode({
      spec: emptySpec({ volumes: [{ name: 'img', image: 'test/seed:1', format: 'oci' }] }),
      images: fx.images,
      layers: fx.layers,
      spool: fx.spool,
    });
    await expect(run).rejects.toThrow('volume img: format "oci" (the image as an OCI layout) is not supported yet');
  });
});
