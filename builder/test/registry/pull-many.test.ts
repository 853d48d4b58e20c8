// Several images in one pull (`lkbuild cache pull A B C`): they download side by side over one
// client per registry, a layer they share is fetched once, and one image failing leaves the
// others pulled. Against Debian's docker-registry behind a proxy that sees every request.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { tarFromDir } from '../../src/archive/tar-from-dir.js';
import { commitImage, writeLayer, type StoredImage } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';
import { pullImages, type PullImagesOptions } from '../../src/oci/registry/pull.js';
import type { TransferEvent } from '../../src/oci/registry/progress-events.js';
import { skopeoPush, tempDir } from './helpers/images.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { startRegistry, type RunningRegistry } from './helpers/registry-server.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
const opts: PullImagesOptions = { credentials: async () => undefined, retry: { attempts: 1 } };

let registry: RunningRegistry;
let proxy: FaultProxy;
/** Two images with a base layer in common, and a third one of its own. */
const images: Record<'a' | 'b' | 'c', StoredImage> = {} as never;
const ref = (name: string) => `${proxy.host}/many/${name}:1`;
const blobGets = (digest: string) => proxy.seen.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`));

async function layerOf(layout: OciLayout, bytes: number) {
  const dir = await tempDir('lk-many-layer-');
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'blob.bin'), randomBytes(bytes));
  const layer = await writeLayer(layout, tarFromDir(dir, 0));
  await rm(dir, { recursive: true });
  return layer;
}

beforeAll(async () => {
  registry = await startRegistry();
  const src = new OciLayout(await tempDir('lk-many-src-'));
  await src.init();
  const base = await layerOf(src, 768 << 10);
  const config = { architecture: 'amd64', os: 'linux', created: new Date(0).toISOString() };
  for (const name of ['a', 'b', 'c'] as const) {
    const layers = name === 'c' ? [await layerOf(src, 256 << 10)] : [base, await layerOf(src, 256 << 10)];
    images[name] = await commitImage(src, `src/${name}:1`, layers, { ...config, config: { Cmd: [`/${name}`] } });
    await skopeoPush(src.root, `src/${name}:1`, `${registry.host}/many/${name}:1`);
  }
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});
beforeEach(() => {
  proxy.seen.length = 0;
  proxy.rule = () => ({ kind: 'pass' });
});

/** The proxy holds image a's own layer until image c's has been asked for: only a side-by-side pull gets past. */
function holdALayerUntilCAsked(): void {
  const aOwn = images.a.manifest.layers[1].digest;
  const cOwn = images.c.manifest.layers[0].digest;
  let cAsked: () => void = () => undefined;
  const cRequested = new Promise<void>((r) => (cAsked = r));
  proxy.rule = (r) => {
    if (r.url.endsWith(`/blobs/${cOwn}`)) cAsked();
    return r.url.endsWith(`/blobs/${aOwn}`) ? { kind: 'wait', until: cRequested } : { kind: 'pass' };
  };
}

test('images download side by side: a layer of one waits until a layer of another has been asked for', async () => {
  // Pulled one after the other, the first image's layer would wait for the second forever
  // (here: 5 s of silence, then the pull fails, attempts: 1).
  holdALayerUntilCAsked();
  const cache = new OciLayout(await tempDir('lk-many-cache-'));
  const results = await pullImages(cache, [ref('a'), ref('c')], { ...opts, idleTimeoutMs: 5_000 });
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
});

test('a build pulls the registry images it names side by side too', async () => {
  // The same wait as above, through `lkbuild build`: one image after the other would time out.
  holdALayerUntilCAsked();
  const dir = await tempDir('lk-many-build-');
  const env = { LKBUILD_CACHE: join(dir, 'cache'), DOCKER_CONFIG: dir };
  await writeFile(join(dir, 'node.yml'), `init:\n  - ${ref('a')}\n  - ${ref('c')}\n`);
  const r = await execa('node', [cli, 'build', '-o', join(dir, 'out'), '-f', 'tar', join(dir, 'node.yml')], { env, reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  // Each image's progress under its own name.
  for (const name of ['a', 'c'])
    expect(r.stderr).toMatch(new RegExp(`lkbuild: pull ${ref(name).replace(/[.]/g, '\\.')}: .* in \\d+\\.\\ds`));
  const listing = (await execa('tar', ['-tf', join(dir, 'out', 'node.tar')])).stdout.split('\n');
  expect(listing).toEqual(expect.arrayContaining(['data/blob.bin']));
}, 60_000);

test('a layer two images share is fetched once, and each image is tagged with its own manifest', async () => {
  const cache = new OciLayout(await tempDir('lk-many-cache-'));
  const events: Array<[number, TransferEvent]> = [];
  const results = await pullImages(cache, [ref('a'), ref('b')], { ...opts, onEvent: (i, e) => events.push([i, e]) });
  const digests = results.map((r) => (r.status === 'fulfilled' ? r.value.manifestDescriptor.digest : String(r.reason)));
  expect(digests).toEqual([images.a.manifestDescriptor.digest, images.b.manifestDescriptor.digest]);
  const base = images.a.manifest.layers[0];
  expect(images.b.manifest.layers[0].digest).toBe(base.digest);
  expect(blobGets(base.digest)).toHaveLength(1);
  // Both images hear the shared layer end (whichever asked first fetched it); only the one
  // that fetched it counts its bytes.
  const baseDone = events.filter(([, e]) => e.type === 'blob-done' && e.digest === base.digest);
  expect(baseDone.map(([i]) => i).sort()).toEqual([0, 1]);
  const fetcher = baseDone.find(([, e]) => !(e as { skipped: boolean }).skipped)?.[0];
  expect(baseDone.filter(([, e]) => (e as { skipped: boolean }).skipped).map(([i]) => i)).toEqual([1 - fetcher!]);
  const baseBytes = events.filter(([, e]) => e.type === 'blob-bytes' && e.digest === base.digest);
  expect(new Set(baseBytes.map(([i]) => i))).toEqual(new Set([fetcher]));
  expect(baseBytes.reduce((n, [, e]) => n + (e as { bytes: number }).bytes, 0)).toBe(base.size);
  expect((await cache.readIndex()).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual([
    ref('a'),
    ref('b'),
  ]);
});

test('the CLI pulls every image it can, prints them in the order given, and fails naming the missing one', async () => {
  const dir = await tempDir('lk-many-cli-');
  const env = { LKBUILD_CACHE: join(dir, 'cache'), DOCKER_CONFIG: dir };
  const missing = `${proxy.host}/many/none:1`;
  const r = await execa('node', [cli, 'cache', 'pull', ref('c'), missing, ref('a')], { env, reject: false });
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe(`${ref('c')}\t${images.c.manifestDescriptor.digest}\n${ref('a')}\t${images.a.manifestDescriptor.digest}`);
  expect(r.stderr).toContain(`lkbuild: error: ${missing} was not found in the registry`);
  expect(r.stderr).toMatch(new RegExp(`lkbuild: pull ${ref('a').replace(/[.]/g, '\\.')}: 1\\.0 MiB in \\d+\\.\\ds`));
  const blobs = await readdir(join(dir, 'cache', 'blobs', 'sha256'));
  expect(blobs.filter((b) => b.startsWith('.tmp'))).toEqual([]);
});

test('a malformed reference among good ones is an error before anything is fetched', async () => {
  const dir = await tempDir('lk-many-cli-');
  const env = { LKBUILD_CACHE: join(dir, 'cache'), DOCKER_CONFIG: dir };
  const r = await execa('node', [cli, 'cache', 'pull', ref('a'), `${proxy.host}/many/Bad Name:1`, ref('c')], { env, reject: false });
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`invalid image reference "${proxy.host}/many/Bad Name:1"`);
  expect(proxy.seen).toEqual([]);
});
