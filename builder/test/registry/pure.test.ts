import { describe, expect, test } from 'vitest';
import { parseChallenges } from '../../src/oci/registry/challenge.js';
import { configKeysFor, decodeAuthEntry } from '../../src/oci/registry/credentials.js';
import { registryEndpoint } from '../../src/oci/registry/endpoint.js';
import { parsePlatform, selectPlatform } from '../../src/oci/registry/platform.js';
import { backoffDelay, isRetryableError, isRetryableStatus, retryAfterMs } from '../../src/net/retry.js';
import type { Descriptor } from '../../src/oci/media-types.js';

describe('WWW-Authenticate parsing', () => {
  test('a Bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
      },
    ]);
  });
  test('several challenges, unquoted values and escapes', () => {
    expect(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=x,  error=insufficient_scope')).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'x', error: 'insufficient_scope' } },
    ]);
  });
});

describe('registry endpoints', () => {
  test('Docker Hub, loopback plain HTTP, insecure list', () => {
    expect(registryEndpoint('docker.io', {}).baseUrl).toBe('https://registry-1.docker.io');
    expect(registryEndpoint('127.0.0.1:5000', {}).baseUrl).toBe('http://127.0.0.1:5000');
    expect(registryEndpoint('localhost:5000', {}).plainHttp).toBe(true);
    expect(registryEndpoint('reg.lan:5000', {}).baseUrl).toBe('https://reg.lan:5000');
    expect(registryEndpoint('reg.lan:5000', { LKBUILD_INSECURE_REGISTRIES: 'other:1, reg.lan:5000' }).baseUrl).toBe('http://reg.lan:5000');
  });
});

describe('docker config credentials', () => {
  test('auth entries decode; Hub has its legacy keys', () => {
    expect(decodeAuthEntry({ auth: Buffer.from('u:p:with:colons').toString('base64') })).toEqual({
      username: 'u',
      password: 'p:with:colons',
    });
    expect(decodeAuthEntry({ username: 'a', password: 'b' })).toEqual({ username: 'a', password: 'b' });
    expect(decodeAuthEntry({})).toBeUndefined();
    expect(configKeysFor('docker.io')[0]).toBe('https://index.docker.io/v1/');
  });
});

describe('platform selection', () => {
  const d = (architecture: string, variant?: string): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture}${variant ?? ''}`,
    size: 1,
    platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
  });
  const index = [
    d('arm', 'v6'),
    d('arm', 'v7'),
    d('arm64', 'v8'),
    d('amd64'),
    { ...d('unknown'), platform: { os: 'unknown', architecture: 'unknown' } },
  ];
  test('picks by os/arch/variant', () => {
    expect(selectPlatform(index, parsePlatform('amd64'))?.digest).toBe('sha256:amd64');
    expect(selectPlatform(index, parsePlatform('aarch64'))?.digest).toBe('sha256:arm64v8');
    expect(selectPlatform(index, parsePlatform('linux/arm/v7'))?.digest).toBe('sha256:armv7');
    expect(selectPlatform(index, parsePlatform('linux/riscv64'))).toBeUndefined();
    expect(() => parsePlatform('a/b/c/d')).toThrow(/invalid platform/);
  });
});

describe('retry policy', () => {
  test('what is retried and how long to wait', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 501].some(isRetryableStatus)).toBe(false);
    expect(isRetryableError(Object.assign(new Error('x'), { cause: { code: 'ECONNRESET' } }))).toBe(true);
    expect(isRetryableError(new Error('plain'))).toBe(false);
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(policy, 0, null, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, null, () => 0)).toBe(400);
    expect(backoffDelay(policy, 10, null, () => 1)).toBe(1000);
    // Retry-After is honoured beyond the back-off cap, up to one minute (the README's figure)
    expect(backoffDelay(policy, 0, '2', () => 1)).toBe(2000);
    expect(backoffDelay(policy, 0, '600', () => 1)).toBe(60_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
