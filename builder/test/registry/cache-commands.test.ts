import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { cacheCommand, pushCommand } from '../../src/cli/cache-commands.js';
import { findImage, type StoredImage } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';
import { makeImageLayout, skopeoPush, tempDir } from './helpers/images.js';
import { startRegistry, type RunningRegistry } from './helpers/registry-server.js';

/** Runs a CLI handler with $LKBUILD_CACHE pointing at `cache`, capturing stdout. */
async function run(cache: string, handler: (args: string[]) => Promise<number>, args: string[]): Promise<{ code: number; out: string }> {
  const saved = process.env.LKBUILD_CACHE;
  process.env.LKBUILD_CACHE = cache;
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await handler(args), out };
  } finally {
    spy.mockRestore();
    quiet.mockRestore();
    if (saved === undefined) delete process.env.LKBUILD_CACHE;
    else process.env.LKBUILD_CACHE = saved;
  }
}

describe('lkbuild cache and push commands', () => {
  let registry: RunningRegistry;
  let image: StoredImage;
  let other: StoredImage;
  const dockerConfig = { saved: process.env.DOCKER_CONFIG };

  beforeAll(async () => {
    registry = await startRegistry();
    // no credentials anywhere: the registry is anonymous
    process.env.DOCKER_CONFIG = await tempDir('lk-empty-docker-');
    const a = await makeImageLayout('src/app:1', 3, 512 << 10);
    image = a.image;
    await skopeoPush(a.layout.root, 'src/app:1', `${registry.host}/app:1`);
    const b = await makeImageLayout('src/other:1', 1, 64 << 10);
    other = b.image;
    await skopeoPush(b.layout.root, 'src/other:1', `${registry.host}/other:1`);
  });
  afterAll(async () => {
    await registry?.stop();
    if (dockerConfig.saved === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = dockerConfig.saved;
  });
  afterEach(() => vi.restoreAllMocks());

  test('pull, ls, export, import, rm and clean', async () => {
    const cache = await tempDir('lk-cli-cache-');
    const app = `${registry.host}/app:1`;
    expect((await run(cache, cacheCommand, ['pull', app, `${registry.host}/other:1`])).out).toContain(image.manifestDescriptor.digest);
    const ls = await run(cache, cacheCommand, ['ls']);
    expect(ls.out).toMatch(/^REFERENCE\s+DIGEST\s+PLATFORM\s+SIZE\n/);
    expect(ls.out).toContain(app);
    expect(ls.out).toContain('linux/amd64');

    const dir = await tempDir('lk-cli-export-');
    await run(cache, cacheCommand, ['export', app, join(dir, 'app.oci.tar')]);
    await run(cache, cacheCommand, ['export', '--format', 'docker', app, join(dir, 'app.docker.tar')]);
    const viaOci = JSON.parse((await execa('skopeo', ['inspect', `oci-archive:${join(dir, 'app.oci.tar')}:${app}`])).stdout);
    expect(viaOci.Digest).toBe(image.manifestDescriptor.digest);
    const viaDocker = JSON.parse((await execa('skopeo', ['inspect', `docker-archive:${join(dir, 'app.docker.tar')}`])).stdout);
    expect(viaDocker.Layers).toHaveLength(3);

    const fresh = await tempDir('lk-cli-cache2-');
    expect((await run(fresh, cacheCommand, ['import', join(dir, 'app.oci.tar')])).out).toBe(`${app}\n`);
    expect((await findImage(new OciLayout(fresh), app))?.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect((await run(fresh, cacheCommand, ['import', '--name', 'imported/app:2', join(dir, 'app.docker.tar')])).out).toBe(
      'imported/app:2\n',
    );
    const imported = await findImage(new OciLayout(fresh), 'imported/app:2');
    expect(imported?.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    await execa('umoci', ['unpack', '--rootless', '--image', `${fresh}:imported/app:2`, join(await tempDir('lk-umoci-'), 'b')]);

    // rm + clean: the removed image's blobs go, the other image's stay usable
    expect((await run(cache, cacheCommand, ['rm', app])).out).toBe(`removed ${app}\n`);
    await expect(run(cache, cacheCommand, ['rm', app])).rejects.toThrow(/not in the local cache/);
    expect((await run(cache, cacheCommand, ['clean'])).out).toMatch(/^removed 0 blobs/); // too young by default
    expect((await run(cache, cacheCommand, ['clean', '--min-age', '0'])).out).toMatch(/^removed 5 blobs .*kept 3\n$/);
    const left = await readdir(join(cache, 'blobs', 'sha256'));
    expect(left.sort()).toEqual(
      [other.manifestDescriptor.digest, other.manifest.config.digest, other.manifest.layers[0].digest].map((d) => d.slice(7)).sort(),
    );
    expect(await findImage(new OciLayout(cache), `${registry.host}/other:1`)).toBeDefined();
  });

  test('archives written by skopeo import (docker-archive with plain layers, oci-archive)', async () => {
    const { layout, image: made } = await makeImageLayout('src/sk:1', 2, 128 << 10);
    const dir = await tempDir('lk-sk-archives-');
    await execa('skopeo', [
      'copy',
      '--insecure-policy',
      `oci:${layout.root}:src/sk:1`,
      `docker-archive:${join(dir, 'd.tar')}:example.com/sk:1`,
    ]);
    await execa('skopeo', [
      'copy',
      '--insecure-policy',
      `oci:${layout.root}:src/sk:1`,
      `oci-archive:${join(dir, 'o.tar')}:example.com/sk:2`,
    ]);
    const cache = await tempDir('lk-cli-cache3-');
    expect((await run(cache, cacheCommand, ['import', join(dir, 'd.tar')])).out).toBe('example.com/sk:1\n');
    expect((await run(cache, cacheCommand, ['import', join(dir, 'o.tar')])).out).toBe('example.com/sk:2\n');
    const fromDocker = await findImage(new OciLayout(cache), 'example.com/sk:1');
    expect(fromDocker?.config.rootfs.diff_ids).toEqual(made.config.rootfs.diff_ids);
    const bundle = join(await tempDir('lk-umoci-'), 'b');
    await execa('umoci', ['unpack', '--rootless', '--image', `${cache}:example.com/sk:1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/data/name-1.txt'), 'utf8')).toBe('src/sk:1 layer 1\n');
  });

  test('push sends a cached image; user errors are LkErrors', async () => {
    const { layout, image: made } = await makeImageLayout('lkbuild/tool:abc', 1, 32 << 10);
    const out = await run(layout.root, pushCommand, ['lkbuild/tool:abc', `${registry.host}/tool:1`]);
    expect(out.out).toBe(`${registry.host}/tool:1@${made.manifestDescriptor.digest}\n`);
    const info = JSON.parse((await execa('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/tool:1`])).stdout);
    expect(info.Digest).toBe(made.manifestDescriptor.digest);
    await expect(run(layout.root, pushCommand, ['nope:1'])).rejects.toThrow(/not in the local cache/);
    await expect(run(layout.root, cacheCommand, ['frobnicate'])).rejects.toThrow(/unknown cache command/);
    await expect(run(layout.root, cacheCommand, ['pull', '--bogus'])).rejects.toThrow(/Unknown option/);
  });
});
