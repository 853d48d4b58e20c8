import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { pullImage, type PullOptions } from '../../src/oci/registry/pull.js';
import { pushImage } from '../../src/oci/registry/push.js';
import type { StoredImage } from '../../src/oci/image-store.js';
import { makeImageLayout, tempDir } from './helpers/images.js';
import { startFaultProxy, startFaultyRegistry, type FaultProxy } from './helpers/fault-proxy.js';
import type { RunningRegistry } from './helpers/registry-server.js';

const fast: PullOptions = { credentials: async () => undefined, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 } };

describe('pulling through a faulty connection', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let image: StoredImage;
  const ref = () => `${proxy.host}/faulty:1`;
  const bigLayer = () => image.manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
  const isBlobGet = (url: string, digest: string) => url.endsWith(`/blobs/${digest}`);

  let reset: () => void;

  beforeAll(async () => {
    ({ registry, proxy, image, reset } = await startFaultyRegistry('faulty', 3, 2 << 20));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => reset());

  async function blobFiles(cache: OciLayout): Promise<string[]> {
    return readdir(join(cache.root, 'blobs', 'sha256'));
  }

  test('a blob with a wrong digest is an error and nothing of it is kept', async () => {
    const victim = bigLayer().digest;
    proxy.rule = (r) => (isBlobGet(r.url, victim) ? { kind: 'corrupt' } : { kind: 'pass' });
    const cache = new OciLayout(await tempDir('lk-cache-'));
    await expect(pullImage(cache, ref(), fast)).rejects.toThrow(/blob verification failed: expected sha256:/);
    const files = await blobFiles(cache);
    expect(files).not.toContain(victim.slice('sha256:'.length));
    expect(files.filter((f) => f.startsWith('.tmp'))).toEqual([]);
    expect((await cache.readIndex()).manifests).toEqual([]);
  });

  test('a registry that answers 500 twice and then succeeds', async () => {
    const victim = bigLayer().digest;
    const failures = new Map<string, number>();
    proxy.rule = (r) => {
      const key = r.url.includes('/manifests/') ? 'manifest' : isBlobGet(r.url, victim) ? 'blob' : '';
      if (!key) return { kind: 'pass' };
      const n = (failures.get(key) ?? 0) + 1;
      failures.set(key, n);
      return n <= 2 ? { kind: 'status', status: 500 } : { kind: 'pass' };
    };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, ref(), fast);
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(proxy.seen.filter((r) => isBlobGet(r.url, victim))).toHaveLength(3);
    expect(proxy.seen.filter((r) => r.url.includes('/manifests/'))).toHaveLength(3);
  });

  test('a connection cut mid-blob is resumed with a ranged GET', async () => {
    const victim = bigLayer();
    const cutAt = 300_000;
    proxy.rule = (r, seen) =>
      isBlobGet(r.url, victim.digest) && seen.filter((s) => isBlobGet(s.url, victim.digest)).length === 1
        ? { kind: 'cut', afterBytes: cutAt }
        : { kind: 'pass' };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, ref(), fast);
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const gets = proxy.seen.filter((r) => isBlobGet(r.url, victim.digest));
    expect(gets).toHaveLength(2);
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(gets[1].range!)![0])).toBeGreaterThan(0);
    expect(await cache.hasBlob(victim)).toBe(true);
  });

  test('a cut connection to a registry without range support: the resent bytes are skipped', async () => {
    const victim = bigLayer();
    proxy.rule = (r, seen) => {
      if (!isBlobGet(r.url, victim.digest)) return { kind: 'pass' };
      return seen.filter((s) => isBlobGet(s.url, victim.digest)).length === 1
        ? { kind: 'cut', afterBytes: 500_000 }
        : { kind: 'ignore-range' };
    };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, ref(), fast);
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(proxy.seen.filter((r) => isBlobGet(r.url, victim.digest))).toHaveLength(2);
    expect(await cache.hasBlob(victim)).toBe(true);
  });

  test('a blob redirected to storage elsewhere, cut there midway, is resumed there with a ranged GET', async () => {
    const victim = bigLayer();
    const storage = await startFaultProxy(registry);
    try {
      proxy.rule = (r) =>
        isBlobGet(r.url, victim.digest)
          ? { kind: 'status', status: 307, headers: { location: `http://${storage.host}${r.url}` } }
          : { kind: 'pass' };
      storage.rule = (_r, seen) => (seen.length === 1 ? { kind: 'cut', afterBytes: 300_000 } : { kind: 'pass' });
      const cache = new OciLayout(await tempDir('lk-cache-'));
      const pulled = await pullImage(cache, ref(), fast);
      expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
      expect(proxy.seen.filter((r) => isBlobGet(r.url, victim.digest))).toHaveLength(2);
      expect(storage.seen).toHaveLength(2);
      expect(storage.seen[0].range).toBeUndefined();
      expect(Number(/^bytes=(\d+)-$/.exec(storage.seen[1].range ?? '')?.[1])).toBeGreaterThan(0);
      expect(await cache.hasBlob(victim)).toBe(true);
    } finally {
      await storage.stop();
    }
  });

  test('429 with Retry-After is waited out', async () => {
    let limited = 0;
    proxy.rule = (r) =>
      r.url.includes('/manifests/') && limited++ === 0
        ? { kind: 'status', status: 429, headers: { 'retry-after': '0' } }
        : { kind: 'pass' };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    await pullImage(cache, ref(), fast);
    expect(proxy.seen.filter((r) => r.url.includes('/manifests/'))).toHaveLength(2);
  });

  test('a push survives 500s on the blob upload', async () => {
    const { layout } = await makeImageLayout('src/up:1', 2, 256 << 10);
    let failed = 0;
    proxy.rule = (r) =>
      r.method === 'PUT' && r.url.includes('/blobs/uploads/') && failed++ < 2 ? { kind: 'status', status: 500 } : { kind: 'pass' };
    const result = await pushImage(layout, 'src/up:1', `${proxy.host}/up:1`, fast);
    expect(result.uploaded).toBe(3);
    expect(failed).toBeGreaterThanOrEqual(2);
    const cache = new OciLayout(await tempDir('lk-cache-'));
    expect((await pullImage(cache, `${registry.host}/up:1`, fast)).manifestDescriptor.digest).toBe(result.digest);
  });

  test('a registry that never answers fails within the time limit with a clear error', async () => {
    proxy.rule = () => ({ kind: 'hang' });
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const started = Date.now();
    await expect(
      pullImage(cache, ref(), { ...fast, idleTimeoutMs: 400, retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 } }),
    ).rejects.toThrow(/did not answer within 0.4s/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const started2 = Date.now();
    await expect(pullImage(cache, ref(), { ...fast, timeoutMs: 700 })).rejects.toThrow(/time limit|stopped/);
    expect(Date.now() - started2).toBeLessThan(3_000);
  });

  test('two concurrent pulls of the same image into one cache', async () => {
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const [a, b] = await Promise.all([pullImage(cache, ref(), fast), pullImage(cache, ref(), fast)]);
    expect(a.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(b.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const index = await cache.readIndex();
    expect(index.manifests).toHaveLength(1);
    expect((await blobFiles(cache)).filter((f) => f.startsWith('.tmp'))).toEqual([]);
    const { stdout } = await execa('skopeo', ['inspect', `oci:${cache.root}:${ref()}`]);
    expect(JSON.parse(stdout).Layers).toHaveLength(3);
  });
});
