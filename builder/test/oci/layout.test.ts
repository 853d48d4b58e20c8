import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { tarFromDir } from '../../src/archive/tar-from-dir.js';
import { commitImage, findImage, writeLayer } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';
import { sha256Digest } from '../../src/oci/digest.js';

async function tempDir(prefix: string) {
  return mkdtemp(join(tmpdir(), prefix));
}

async function sampleImage(layout: OciLayout, ref: string, body = 'hello\n') {
  const src = await tempDir('layout-src-');
  await mkdir(join(src, 'etc'));
  await writeFile(join(src, 'etc/greeting'), body);
  const layer = await writeLayer(layout, tarFromDir(src, 0));
  return commitImage(layout, ref, [layer], {
    architecture: 'amd64',
    os: 'linux',
    created: new Date(0).toISOString(),
    config: { Cmd: ['/bin/sh'] },
  });
}

describe('local OCI layout cache', () => {
  test('skopeo inspects and umoci unpacks what we write', async () => {
    const layout = new OciLayout(await tempDir('layout-'));
    await layout.init();
    await sampleImage(layout, 'lkbuild/sample:1');
    const { stdout } = await execa('skopeo', ['inspect', `oci:${layout.root}:lkbuild/sample:1`]);
    const info = JSON.parse(stdout);
    expect(info.Architecture).toBe('amd64');
    expect(info.Layers).toHaveLength(1);
    const bundle = join(await tempDir('umoci-'), 'bundle');
    await execa('umoci', ['unpack', '--rootless', '--image', `${layout.root}:lkbuild/sample:1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/etc/greeting'), 'utf8')).toBe('hello\n');
  });

  test('the same directory gives the same layer and manifest digests', async () => {
    const a = new OciLayout(await tempDir('layout-a-'));
    const b = new OciLayout(await tempDir('layout-b-'));
    await a.init();
    await b.init();
    const x = await sampleImage(a, 'r:1');
    const y = await sampleImage(b, 'r:1');
    expect(x.manifestDescriptor.digest).toBe(y.manifestDescriptor.digest);
  });

  test('a blob whose digest does not match is refused and nothing is kept', async () => {
    const layout = new OciLayout(await tempDir('layout-'));
    await layout.init();
    const data = Buffer.from('actual content');
    const claimed = { digest: sha256Digest('other content'), size: data.length };
    await expect(layout.writeBlob(Readable.from([data]), claimed)).rejects.toThrow(/verification failed/);
    expect(await layout.hasBlob(claimed)).toBe(false);
    const { stdout } = await execa('ls', ['-A', join(layout.root, 'blobs/sha256')]);
    expect(stdout).toBe('');
  });

  test('a corrupted cached blob is detected and removed', async () => {
    const layout = new OciLayout(await tempDir('layout-'));
    await layout.init();
    const img = await sampleImage(layout, 'r:1');
    await writeFile(layout.blobPath(img.manifest.config.digest), '{"tampered":true}');
    await expect(findImage(layout, 'r:1')).rejects.toThrow(/corrupt/);
    expect(await layout.hasBlob(img.manifest.config)).toBe(false);
  });

  test('two processes tagging into one cache at once lose no reference', async () => {
    const layout = new OciLayout(await tempDir('layout-'));
    await layout.init();
    const img = await sampleImage(layout, 'base:1');
    const script = `
      import { OciLayout } from ${JSON.stringify(new URL('../../dist/oci/layout.js', import.meta.url).pathname)};
      const l = new OciLayout(process.argv[2]);
      const d = JSON.parse(process.argv[3]);
      for (let i = 0; i < 25; i++) await l.tag(process.argv[4] + ':' + i, d);
    `;
    // Runs the compiled module (npm test builds first): two real processes, one shared cache.
    const file = join(await tempDir('tagger-'), 'tagger.mjs');
    await writeFile(file, script);
    const run = (who: string) => execa('node', [file, layout.root, JSON.stringify(img.manifestDescriptor), who]);
    await Promise.all([run('p1'), run('p2')]);
    const refs = (await layout.readIndex()).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
    expect(refs.filter((r) => r?.startsWith('p1:'))).toHaveLength(25);
    expect(refs.filter((r) => r?.startsWith('p2:'))).toHaveLength(25);
  });

  test('a layer whose tar stream fails is an error of writeLayer, and leaves no blob behind', async () => {
    const layout = new OciLayout(await tempDir('layout-'));
    await layout.init();
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(512);
        throw new Error('etc/greeting vanished while it was archived');
      })(),
    );
    await expect(writeLayer(layout, failing)).rejects.toThrow('vanished');
    expect(await readdir(join(layout.root, 'blobs', 'sha256'))).toEqual([]);
  }, 10_000);
});
