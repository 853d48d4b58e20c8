// The registry client's network behaviour against a real registry, with the faults a real
// registry cannot produce injected by a small proxy in front of it. The numbers are the
// README's ("Network"), written here as literals.
import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { pullImage } from '../../src/oci/registry/pull.js';
import { httpGetBuffer } from '../../src/pkg/debian/http.js';
import type { StoredImage } from '../../src/oci/image-store.js';
import { tempDir } from './helpers/images.js';
import { startFaultyRegistry, type FaultProxy } from './helpers/fault-proxy.js';
import type { RunningRegistry } from './helpers/registry-server.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
const noCreds = async () => undefined;

describe('registry behaviour the README promises', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let image: StoredImage;
  const ref = () => `${proxy.host}/net:1`;
  const manifestGets = () => proxy.seen.filter((r) => r.url.includes('/manifests/'));

  let reset: () => void;

  beforeAll(async () => {
    ({ registry, proxy, image, reset } = await startFaultyRegistry('net', 2, 256 << 10));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => reset());

  test('429 with Retry-After: 2 is waited out for at least 2 s', async () => {
    proxy.rule = (r, seen) =>
      r.url.includes('/manifests/') && seen.filter((s) => s.url.includes('/manifests/')).length === 1
        ? { kind: 'status', status: 429, headers: { 'retry-after': '2' } }
        : { kind: 'pass' };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, ref(), { credentials: noCreds });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const [first, second] = manifestGets();
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
  });

  test('a persistent 503 is retried 5 times in all, and the error names the registry and the status (real CLI)', async () => {
    proxy.rule = (r) => (r.url.includes('/manifests/') ? { kind: 'status', status: 503 } : { kind: 'pass' });
    const work = await tempDir('lk-5xx-');
    const r = await execa('node', [cli, 'cache', 'pull', ref()], {
      reject: false,
      env: { LKBUILD_CACHE: `${work}/cache`, DOCKER_CONFIG: work },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`lkbuild: error: registry ${proxy.host} answered HTTP 503 to GET /v2/net/manifests/1`);
    expect(r.stderr).toContain('5 attempts');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(manifestGets()).toHaveLength(5);
  }, 30_000);

  test('the default timeout: 30 s of silence before headers or within a body fails an attempt (registry and Debian)', async () => {
    const layer = image.manifest.layers[0]!;
    proxy.rule = (r) =>
      r.url.includes('/manifests/') && r.url.endsWith('/hang')
        ? { kind: 'hang' }
        : r.url.endsWith(`/blobs/${layer.digest}`)
          ? { kind: 'stall', afterBytes: 1000 }
          : { kind: 'pass' };
    const once = { attempts: 1 };
    const timed = async (work: Promise<unknown>) => {
      const started = Date.now();
      const error = await work.then(
        () => undefined,
        (e: Error) => e,
      );
      return { error, seconds: (Date.now() - started) / 1000 };
    };
    const [headers, body, debian] = await Promise.all([
      timed(pullImage(new OciLayout(await tempDir('lk-cache-')), `${proxy.host}/net:hang`, { credentials: noCreds, retry: once })),
      timed(pullImage(new OciLayout(await tempDir('lk-cache-')), ref(), { credentials: noCreds, retry: once })),
      timed(httpGetBuffer(`http://${proxy.host}/v2/debian/manifests/hang`, { retry: once })),
    ]);
    for (const t of [headers, body, debian]) {
      expect(t.seconds).toBeGreaterThanOrEqual(29.5);
      expect(t.seconds).toBeLessThan(45);
    }
    expect(headers.error?.message).toMatch(new RegExp(`registry ${proxy.host} did not answer within 30s`));
    expect(body.error?.message).toMatch(new RegExp(`registry ${proxy.host} did not answer within 30s \\(GET blob ${layer.digest}`));
    expect(debian.error?.message).toMatch(/failed after 1 attempt: .*(UND_ERR_HEADERS_TIMEOUT|Headers Timeout)/);
  }, 90_000);
});
