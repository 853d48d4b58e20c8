// What a hostile registry could do to the build host: fill its disk with a blob that never ends,
// or collect the user's password through a token realm elsewhere.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { realmMayReceiveCredentials, registryEndpoint } from '../../src/oci/registry/endpoint.js';
import { pullImage } from '../../src/oci/registry/pull.js';
import type { StoredImage } from '../../src/oci/image-store.js';
import { tempDir } from './helpers/images.js';
import { startFaultyRegistry, type FaultProxy } from './helpers/fault-proxy.js';
import { startRegistry, startTlsRegistry, type RunningRegistry } from './helpers/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.js';

describe('a blob longer than its descriptor says', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let image: StoredImage;
  let reset: () => void;
  beforeAll(async () => {
    ({ registry, proxy, image, reset } = await startFaultyRegistry('endless', 1, 1 << 20));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => reset());

  test('is stopped as soon as it overflows, and nothing of it stays in the cache', async () => {
    const layer = image.manifest.layers[0]!;
    const extra = 256 << 20;
    proxy.rule = (r) => (r.url.endsWith(`/blobs/${layer.digest}`) ? { kind: 'pad', extraBytes: extra } : { kind: 'pass' });
    const cache = new OciLayout(await tempDir('lk-cache-'));
    await expect(pullImage(cache, `${proxy.host}/endless:1`, { credentials: async () => undefined })).rejects.toThrow(
      new RegExp(`${proxy.host}/endless sent more than the ${layer.size} bytes its manifest declares for blob ${layer.digest}`),
    );
    // what the proxy managed to push out: the blob, the other blobs, and what socket buffers hold
    expect(proxy.bytesSent).toBeLessThan(layer.size + (32 << 20));
    const files = await readdir(join(cache.root, 'blobs', 'sha256'));
    expect(files).not.toContain(layer.digest.slice('sha256:'.length));
    expect(files.filter((f) => f.startsWith('.tmp'))).toEqual([]);
    expect((await cache.readIndex()).manifests).toEqual([]);
  });
});

test('the cache itself stops writing a blob at its announced size, whatever the source', async () => {
  const cache = new OciLayout(await tempDir('lk-cache-'));
  await cache.init();
  let pulled = 0;
  async function* endless(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 1024; i++) {
      pulled++;
      yield Buffer.alloc(64 << 10); // 64 MiB if all were read
    }
  }
  const digest = `sha256:${'0'.repeat(64)}`;
  await expect(cache.writeBlob(Readable.from(endless()), { digest, size: 100_000 })).rejects.toThrow(
    /more than the 100000 bytes announced arrived/,
  );
  expect(pulled).toBeLessThan(64); // stopped early (stream buffering reads a few chunks ahead)
  expect(await readdir(join(cache.root, 'blobs', 'sha256'))).toEqual([]);
});

describe('Basic credentials and the token realm', () => {
  const users = { bob: 'tok3n' };
  let issuer: TokenIssuer;
  beforeAll(async () => {
    issuer = await startTokenIssuer(await tempDir('lk-issuer-'), users);
  });
  afterAll(async () => issuer?.stop());
  beforeEach(() => {
    issuer.requests.length = 0;
  });
  const tokenAuth = (realm: string) => ({
    kind: 'token' as const,
    realm,
    service: issuer.service,
    issuer: issuer.issuer,
    certPath: issuer.certPath,
  });

  test('are not sent to a realm on another host', async () => {
    // The registry is reached as 127.0.0.1; its challenge names "localhost", another host.
    const registry = await startRegistry(tokenAuth(issuer.realm.replace('127.0.0.1', 'localhost')));
    try {
      const credentials = async () => ({ username: 'bob', password: 'tok3n' });
      await expect(pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/team/x:1`, { credentials })).rejects.toThrow(
        /sends its logins to the token service http:\/\/localhost:\d+, on another scheme or host than the registry: your credentials .* were not sent there/,
      );
      expect(issuer.requests.length).toBeGreaterThan(0);
      expect(issuer.requests.every((r) => r.user === undefined)).toBe(true);
    } finally {
      await registry.stop();
    }
  });

  test('are not sent over plain HTTP to the realm of an HTTPS registry', async () => {
    const { registry, certsDir } = await startTlsRegistry(tokenAuth(issuer.realm));
    try {
      const credentials = async () => ({ username: 'bob', password: 'tok3n' });
      const env = { ...process.env, LKBUILD_CERTS_DIR: certsDir };
      await expect(pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/team/x:1`, { credentials, env })).rejects.toThrow(
        /were not sent there/,
      );
      expect(issuer.requests.length).toBeGreaterThan(0);
      expect(issuer.requests.every((r) => r.user === undefined)).toBe(true);
    } finally {
      await registry.stop();
    }
  });

  test('the rule: same scheme, and the registry host, a subdomain or a parent domain of its name', () => {
    const https = registryEndpoint('reg.example.com', {});
    const allowed = (realm: string, endpoint = https) => realmMayReceiveCredentials(new URL(realm), endpoint);
    expect(allowed('https://reg.example.com/token')).toBe(true);
    expect(allowed('https://reg.example.com:8443/token')).toBe(true);
    expect(allowed('https://auth.reg.example.com/token')).toBe(true);
    expect(allowed('http://reg.example.com/token')).toBe(false);
    expect(allowed('https://other.example.com/token')).toBe(false);
    expect(allowed('https://evilreg.example.com/token')).toBe(false);
    expect(allowed('https://reg.example.com.evil.test/token')).toBe(false);
    const sub = registryEndpoint('registry.example.org', {});
    expect(allowed('https://example.org/jwt/auth', sub)).toBe(true); // a parent domain
    expect(allowed('https://other.example.org/jwt/auth', sub)).toBe(false); // a sibling
    expect(allowed('https://org/jwt/auth', sub)).toBe(false); // a top-level domain
    expect(allowed('http://example.org/jwt/auth', sub)).toBe(false);
    const loopback = registryEndpoint('127.0.0.1:5000', {});
    expect(allowed('http://127.0.0.1:6000/token', loopback)).toBe(true);
    expect(allowed('http://127.0.0.2:6000/token', loopback)).toBe(false);
    expect(allowed('https://127.0.0.1:6000/token', loopback)).toBe(false);
  });
});
