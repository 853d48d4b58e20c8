// HTTP_PROXY, HTTPS_PROXY and NO_PROXY, honoured by registry pulls and by the Debian downloader
// alike: a forward proxy on loopback sees the requests, NO_PROXY bypasses it.
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { proxySettings } from '../../src/net/dispatcher.js';
import { OciLayout } from '../../src/oci/layout.js';
import { pullImage } from '../../src/oci/registry/pull.js';
import { httpGetBuffer } from '../../src/pkg/debian/http.js';
import { readAptSources } from '../../src/pkg/debian/index.js';
import type { StoredImage } from '../../src/oci/image-store.js';
import { makeImageLayout, skopeoPush, tempDir } from '../registry/helpers/images.js';
import { startRegistry, startTlsRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';
import { startForwardProxy, type ForwardProxy } from './helpers/forward-proxy.js';

const noCreds = async () => undefined;
/** The environment without any proxy variable of the host's own. */
function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) delete env[name];
  return { ...env, ...vars };
}

let proxy: ForwardProxy;
beforeAll(async () => {
  proxy = await startForwardProxy();
});
afterAll(async () => proxy?.stop());
beforeEach(() => {
  proxy.seen.length = 0;
});

test('proxy variables: lowercase wins, empty counts as unset', () => {
  expect(proxySettings({ http_proxy: 'http://a:1', HTTP_PROXY: 'http://b:2', NO_PROXY: 'x' })).toEqual({
    httpProxy: 'http://a:1',
    httpsProxy: undefined,
    noProxy: 'x',
  });
  expect(proxySettings({ https_proxy: '', HTTPS_PROXY: 'http://c:3' })).toEqual({
    httpProxy: undefined,
    httpsProxy: 'http://c:3',
    noProxy: undefined,
  });
});

describe('a plain-HTTP registry', () => {
  let registry: RunningRegistry;
  let image: StoredImage;
  beforeAll(async () => {
    registry = await startRegistry();
    const made = await makeImageLayout('src/px:1', 2, 64 << 10);
    image = made.image;
    await skopeoPush(made.layout.root, 'src/px:1', `${registry.host}/px:1`);
  });
  afterAll(async () => registry?.stop());

  const pull = async (env: NodeJS.ProcessEnv) =>
    pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/px:1`, { credentials: noCreds, env });

  test('HTTP_PROXY carries every request, as an ordinary proxy request', async () => {
    expect((await pull(envWith({ HTTP_PROXY: proxy.url }))).manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const targets = proxy.seen.map((r) => `${r.method} ${r.target}`);
    expect(targets).toContain(`GET http://${registry.host}/v2/px/manifests/1`);
    for (const layer of image.manifest.layers) expect(targets).toContain(`GET http://${registry.host}/v2/px/blobs/${layer.digest}`);
  });

  test('lowercase http_proxy wins over a broken HTTP_PROXY', async () => {
    await pull(envWith({ http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' }));
    expect(proxy.seen.length).toBeGreaterThanOrEqual(3);
  });

  test('NO_PROXY naming the registry host bypasses the proxy', async () => {
    await pull(envWith({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.invalid, 127.0.0.1' }));
    expect(proxy.seen).toEqual([]);
  });
});

describe('an HTTPS registry', () => {
  let registry: RunningRegistry;
  let certsDir: string;
  beforeAll(async () => {
    ({ registry, certsDir } = await startTlsRegistry());
    const made = await makeImageLayout('src/tlspx:1', 1, 32 << 10);
    await execa('skopeo', [
      'copy',
      '--insecure-policy',
      '--dest-tls-verify=false',
      `oci:${made.layout.root}:src/tlspx:1`,
      `docker://${registry.host}/tlspx:1`,
    ]);
  });
  afterAll(async () => registry?.stop());

  test('HTTPS_PROXY tunnels to it with CONNECT, and its private CA still applies', async () => {
    const env = envWith({ HTTPS_PROXY: proxy.url, LKBUILD_CERTS_DIR: certsDir });
    const pulled = await pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/tlspx:1`, { credentials: noCreds, env });
    expect(pulled.refName).toBe(`${registry.host}/tlspx:1`);
    expect(proxy.seen.map((r) => `${r.method} ${r.target}`)).toContain(`CONNECT ${registry.host}`);
  });
});

describe('the Debian archive', () => {
  test('HTTP_PROXY and HTTPS_PROXY carry the downloads', async () => {
    const mirror = readAptSources({ env: {} }).find((s) => s.suite === 'bookworm');
    if (!mirror) throw new Error('the host apt configuration has no Debian bookworm source');
    // The Debian downloader reads the process environment, once.
    process.env.HTTP_PROXY = proxy.url;
    process.env.HTTPS_PROXY = proxy.url;
    const inRelease = await httpGetBuffer(`${mirror.uri}/dists/bookworm/InRelease`);
    expect(inRelease.toString('latin1')).toContain('-----BEGIN PGP SIGNED MESSAGE-----');
    const host = new URL(mirror.uri).host;
    expect(proxy.seen.some((r) => r.target.includes(host))).toBe(true);
  });
});
