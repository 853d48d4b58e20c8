import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuntime } from '../../../init/src/runtime.js';
import { assembleNode } from '../../src/assemble/node.js';
import { AssembleFixture, emptySpec, fileText } from './fixture.js';

describe('assembleNode', () => {
  let fx: AssembleFixture;
  beforeAll(async () => {
    fx = await AssembleFixture.create('lk-node-');
    await fx.image('test/app:1', { 'bin/app': 'app' });
    await fx.image(
      'test/netns:1',
      { 'bin/app': 'app' },
      { runtime: { mkdir: ['/run/netns'], bindNS: { net: '/run/netns/web' } }, restart: 'on-failure' },
    );
  });
  afterAll(async () => fx?.dispose());
  const assemble = (over: Parameters<typeof emptySpec>[0]) =>
    assembleNode({ spec: emptySpec(over), images: fx.images, layers: fx.layers, spool: fx.spool });

  it('gives files owned by a container name the id LinuxKit allocates to that container', async () => {
    // onboot first, then onshutdown, then services, from 100 up.
    const node = await assemble({
      onboot: [{ name: 'setup', image: 'test/app:1' }],
      services: [{ name: 'redis', image: 'test/app:1' }],
      files: [
        { path: 'etc/redis.conf', contents: 'x', uid: 'redis', gid: 'setup' },
        { path: 'etc/plain', contents: 'y', uid: 7, gid: '8' },
      ],
    });
    expect(node.tree.get('etc/redis.conf')).toMatchObject({ uid: 101, gid: 100 });
    expect(node.tree.get('etc/plain')).toMatchObject({ uid: 7, gid: 8 });
  });

  it('refuses a file owned by a name that is no container, naming the file', async () => {
    await expect(assemble({ files: [{ path: 'etc/x', contents: 'x', uid: 'ghost' }] })).rejects.toThrow(
      'files: etc/x: uid: no container named "ghost"; expected a number, "root", or the name of a container',
    );
  });

  // runtime.json is written by the builder and read by the init: the init's own parser must take
  // every field the builder writes, without a problem, and act on what the build file said.
  it("writes runtime.json that the init's parser reads without a problem", async () => {
    const node = await assemble({
      onboot: [{ name: 'prep', image: 'test/app:1', runtime: { cgroups: ['/system'] } }],
      services: [
        { name: 'db', image: 'test/app:1' },
        {
          name: 'web',
          image: 'test/netns:1',
          depends: ['db'],
          runtime: {
            mounts: [{ type: 'tmpfs', source: 'tmpfs', destination: '/run/web', options: ['nosuid'] }],
            interfaces: [{ name: 'eth1', peer: 'veth-web' }, { name: 'dummy0', add: 'dummy', createInRoot: true }, { name: 'eth9' }],
            bindNS: { uts: '/run/uts/web' },
          },
        },
      ],
    });
    const read = async (dir: string, defaultRestart: 'always' | 'never') =>
      parseRuntime(await fileText(node.tree, `containers/${dir}/runtime.json`), defaultRestart);
    // The other default restart than the builder's own, so that the restart read is the one written.
    expect(await read('onboot/000-prep', 'always')).toEqual({
      problems: [],
      spec: { restart: 'never', depends: [], mkdir: [], cgroups: ['/system'], mounts: [], interfaces: [], bindNS: {} },
    });
    expect(await read('services/db', 'never')).toEqual({
      problems: [],
      spec: { restart: 'always', depends: [], mkdir: [], cgroups: [], mounts: [], interfaces: [], bindNS: {} },
    });
    expect(await read('services/web', 'always')).toEqual({
      problems: [],
      spec: {
        restart: 'on-failure',
        depends: ['db'],
        mkdir: ['/run/netns'],
        cgroups: [],
        mounts: [{ destination: '/run/web', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] }],
        interfaces: [
          { name: 'eth1', add: 'veth', peer: 'veth-web' },
          { name: 'dummy0', add: 'dummy', createInRoot: true },
          { name: 'eth9' },
        ],
        bindNS: { net: '/run/netns/web', uts: '/run/uts/web' },
      },
    });
  });
});
