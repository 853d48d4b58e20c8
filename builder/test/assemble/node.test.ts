import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleNode } from '../../src/assemble/node.js';
import { AssembleFixture, emptySpec } from './fixture.js';

describe('assembleNode', () => {
  let fx: AssembleFixture;
  beforeAll(async () => {
    fx = await AssembleFixture.create('lk-node-');
    await fx.image('test/app:1', { 'bin/app': 'app' });
  });
  afterAll(async () => fx?.dispose());
  const assemble = (over: Parameters<typeof emptySpec>[0]) => assembleNode({ spec: emptySpec(over), images: fx.images, layout: fx.layout, spool: fx.spool });

  it('gives files owned by a container name the id LinuxKit allocates to that container', async () => {
    // onboot first, then onshutdown, then services, from 100 up.
    const node = await assemble({
      onboot: [{ name: 'setup', image: 'test/app:1' }],
      services: [{ name: 'redis', image: 'test/app:1' }],
      files: [{ path: 'etc/redis.conf', contents: 'x', uid: 'redis', gid: 'setup' }, { path: 'etc/plain', contents: 'y', uid: 7, gid: '8' }],
    });
    expect(node.tree.get('etc/redis.conf')).toMatchObject({ uid: 101, gid: 100 });
    expect(node.tree.get('etc/plain')).toMatchObject({ uid: 7, gid: 8 });
  });

  it('refuses a file owned by a name that is no container, naming the file', async () => {
    await expect(assemble({ files: [{ path: 'etc/x', contents: 'x', uid: 'ghost' }] })).rejects.toThrow(
      'files: etc/x: uid: no container named "ghost"; expected a number, "root", or the name of a container',
    );
  });
});
