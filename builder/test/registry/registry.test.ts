import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { commitImage, findImage } from '../../src/oci/image-store.js';
import { MediaType } from '../../src/oci/media-types.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { parsePlatform } from '../../src/oci/registry/platform.js';
import { OciLayout } from '../../src/oci/layout.js';
import { pullImage } from '../../src/oci/registry/pull.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { dockerConfigWith, makeImage, makeImageLayout, skopeoPush, tempDir } from './helpers/images.js';
import { startRegistry, startTlsRegistry, type RunningRegistry } from './helpers/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.js';

const noCreds = async () => undefined;

describe('anonymous registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => registry?.stop());

  test('an image pushed by skopeo is pulled by lkbuild, read by skopeo and unpacked by umoci', async () => {
    const { layout: src, image } = await makeImageLayout('src/x:1', 3, 1 << 20);
    await skopeoPush(src.root, 'src/x:1', `${registry.host}/x:1`);

    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, `${registry.host}/x:1`, { credentials: noCreds });
    expect(pulled.refName).toBe(`${registry.host}/x:1`);
    expect(pulled.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    expect(pulled.manifest.layers.map((l) => l.digest)).toEqual(image.manifest.layers.map((l) => l.digest));
    expect(await findImage(cache, `${registry.host}/x:1`)).toBeDefined();

    const { stdout } = await execa('skopeo', ['inspect', `oci:${cache.root}:${registry.host}/x:1`]);
    expect(JSON.parse(stdout).Layers).toEqual(image.manifest.layers.map((l) => l.digest));
    const bundle = join(await tempDir('lk-umoci-'), 'bundle');
    await execa('umoci', ['unpack', '--rootless', '--image', `${cache.root}:${registry.host}/x:1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/data/name-2.txt'), 'utf8')).toBe('src/x:1 layer 2\n');
  });

  test('an image pushed by lkbuild is pulled by skopeo; a second push skips every blob', async () => {
    const { layout, image } = await makeImageLayout('lkbuild/pushed:1', 2, 256 << 10);
    const first = await pushImage(layout, 'lkbuild/pushed:1', `${registry.host}/pushed:1`, { credentials: noCreds });
    expect(first).toMatchObject({ uploaded: 3, skipped: 0, digest: image.manifestDescriptor.digest });

    const out = await tempDir('lk-skopeo-out-');
    await execa('skopeo', ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${registry.host}/pushed:1`, `oci:${out}:got`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.manifestDescriptor.digest);

    const again = await pushImage(layout, 'lkbuild/pushed:1', `${registry.host}/pushed:1`, { credentials: noCreds });
    expect(again).toMatchObject({ uploaded: 0, skipped: 3 });
  });

  test('pushing within one registry mounts blobs from the source repository', async () => {
    const { layout } = await makeImageLayout(`${registry.host}/origin:1`, 2, 64 << 10);
    await pushImage(layout, `${registry.host}/origin:1`, undefined, { credentials: noCreds });
    const copy = await pushImage(layout, `${registry.host}/origin:1`, `${registry.host}/copy:1`, { credentials: noCreds });
    expect(copy).toMatchObject({ uploaded: 0, mounted: 3 });
  });

  test('a digest-pinned reference must match', async () => {
    const { layout, image } = await makeImageLayout('lkbuild/pin:1', 1, 1024);
    await pushImage(layout, 'lkbuild/pin:1', `${registry.host}/pin:1`, { credentials: noCreds });
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const byDigest = `${registry.host}/pin@${image.manifestDescriptor.digest}`;
    const pulled = await pullImage(cache, byDigest, { credentials: noCreds });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const wrong = `${registry.host}/pin:1@sha256:${'0'.repeat(64)}`;
    await expect(pullImage(cache, wrong, { credentials: noCreds })).rejects.toThrow(/not found|does not match|digest/);
  });

  test('a multi-platform index resolves to the platform asked for (linux/amd64 by default)', async () => {
    const src = new OciLayout(await tempDir('lk-multi-'));
    const amd = await makeImage(src, 'one/amd:1', 1, 4096);
    const armLayer = await makeImage(src, 'one/armsrc:1', 1, 4096);
    const arm = await commitImage(
      src,
      'one/arm:1',
      armLayer.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: armLayer.config.rootfs.diff_ids[i] })),
      {
        architecture: 'arm64',
        os: 'linux',
      },
    );
    const index = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [arm.manifestDescriptor, amd.manifestDescriptor] };
    const stored = await src.writeJsonBlob(index);
    await src.tag('multi:1', { mediaType: MediaType.imageIndex, ...stored });
    await execa('skopeo', [
      'copy',
      '--all',
      '--insecure-policy',
      '--dest-tls-verify=false',
      `oci:${src.root}:multi:1`,
      `docker://${registry.host}/multi:1`,
    ]);

    const cache = new OciLayout(await tempDir('lk-cache-'));
    const byDefault = await pullImage(cache, `${registry.host}/multi:1`, { credentials: noCreds });
    expect(byDefault.manifestDescriptor.digest).toBe(amd.manifestDescriptor.digest);
    const armCache = new OciLayout(await tempDir('lk-cache-'));
    const forArm = await pullImage(armCache, `${registry.host}/multi:1`, { credentials: noCreds, platform: parsePlatform('arm64') });
    expect(forArm.manifestDescriptor.digest).toBe(arm.manifestDescriptor.digest);
    expect(forArm.config.architecture).toBe('arm64');
    await expect(
      pullImage(armCache, `${registry.host}/multi:1`, { credentials: noCreds, platform: parsePlatform('linux/s390x') }),
    ).rejects.toThrow(/has no image for linux\/s390x.*|available/);
  });

  test('Docker v2 schema 2 images are stored with OCI media types (skopeo and umoci ignore Docker ones in a layout)', async () => {
    const { layout, image } = await makeImageLayout('src/d2:1', 2, 4096);
    await execa('skopeo', [
      'copy',
      '--insecure-policy',
      '--format',
      'v2s2',
      '--dest-tls-verify=false',
      `oci:${layout.root}:src/d2:1`,
      `docker://${registry.host}/d2:1`,
    ]);
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, `${registry.host}/d2:1`, { credentials: noCreds });
    const served = (await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/d2:1`])).stdout;
    expect(JSON.parse(served).mediaType).toBe(MediaType.dockerManifest);
    expect(pulled.manifestDescriptor.mediaType).toBe(MediaType.imageManifest);
    expect(pulled.manifestDescriptor.annotations?.['org.lkbuild.source.digest']).toBe(sha256Digest(served));
    expect(pulled.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.layerTarGzip, MediaType.layerTarGzip]);
    // pinning by the digest the registry serves still works
    const pinned = await pullImage(cache, `${registry.host}/d2@${sha256Digest(served)}`, { credentials: noCreds });
    expect(pinned.manifestDescriptor.digest).toBe(pulled.manifestDescriptor.digest);
    expect(pulled.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    const { stdout } = await execa('skopeo', ['inspect', `oci:${cache.root}:${registry.host}/d2:1`]);
    expect(JSON.parse(stdout).Layers).toHaveLength(2);
  });

  test('a missing tag is a clear error', async () => {
    const cache = new OciLayout(await tempDir('lk-cache-'));
    await expect(pullImage(cache, `${registry.host}/nothing:1`, { credentials: noCreds })).rejects.toThrow(/was not found in the registry/);
  });
});

describe('htpasswd registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ kind: 'htpasswd', users: { alice: 's3cret' } });
  });
  afterAll(async () => registry?.stop());

  test('credentials come from $DOCKER_CONFIG; without them the error says to log in', async () => {
    const { layout, image } = await makeImageLayout('src/auth:1', 2, 128 << 10);
    await skopeoPush(layout.root, 'src/auth:1', `${registry.host}/auth:1`, 'alice:s3cret');
    const env = { ...process.env, DOCKER_CONFIG: await dockerConfigWith(registry.host, 'alice', 's3cret') };
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, `${registry.host}/auth:1`, { env });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);

    const pushed = await pushImage(cache, `${registry.host}/auth:1`, `${registry.host}/auth-copy:1`, { env });
    expect(pushed.digest).toBe(image.manifestDescriptor.digest);

    const empty = { ...process.env, DOCKER_CONFIG: await tempDir('lk-no-config-') };
    await expect(pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/auth:1`, { env: empty })).rejects.toThrow(
      /requires authentication/,
    );

    // a credential helper named in credHelpers answers `get` with the server on stdin
    const bin = await tempDir('lk-helper-bin-');
    await writeFile(
      join(bin, 'docker-credential-lktest'),
      `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${registry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\necho '{"ServerURL":"${registry.host}","Username":"alice","Secret":"s3cret"}'\n`,
      { mode: 0o755 },
    );
    const helperConfig = await tempDir('lk-helper-config-');
    await writeFile(join(helperConfig, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'lktest' } }));
    const viaHelper = { ...process.env, DOCKER_CONFIG: helperConfig, PATH: `${bin}:${process.env.PATH}` };
    const pulledViaHelper = await pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/auth:1`, { env: viaHelper });
    expect(pulledViaHelper.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);

    const wrong = { ...process.env, DOCKER_CONFIG: await dockerConfigWith(registry.host, 'alice', 'nope') };
    await expect(pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/auth:1`, { env: wrong })).rejects.toThrow(
      /refused the credentials/,
    );
  });
});

describe('token-auth registry', () => {
  let registry: RunningRegistry;
  let issuer: TokenIssuer;
  beforeAll(async () => {
    issuer = await startTokenIssuer(await tempDir('lk-issuer-'), { bob: 'tok3n' });
    registry = await startRegistry({
      kind: 'token',
      realm: issuer.realm,
      service: issuer.service,
      issuer: issuer.issuer,
      certPath: issuer.certPath,
    });
  });
  afterAll(async () => {
    await registry?.stop();
    await issuer?.stop();
  });

  test('pull and push with bearer tokens for the scope asked', async () => {
    const { layout, image } = await makeImageLayout('src/tok:1', 2, 128 << 10);
    await skopeoPush(layout.root, 'src/tok:1', `${registry.host}/team/tok:1`, 'bob:tok3n');
    const credentials = async (host: string) => (host === registry.host ? { username: 'bob', password: 'tok3n' } : undefined);
    const cache = new OciLayout(await tempDir('lk-cache-'));
    issuer.requests.length = 0;
    const pulled = await pullImage(cache, `${registry.host}/team/tok:1`, { credentials });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(issuer.requests).toEqual([{ user: 'bob', scopes: ['repository:team/tok:pull'] }]);

    const pushed = await pushImage(cache, `${registry.host}/team/tok:1`, `${registry.host}/team/other:2`, { credentials });
    expect(pushed.mounted).toBe(3);
    expect(
      issuer.requests.some((r) => r.scopes.includes('repository:team/other:pull,push') && r.scopes.includes('repository:team/tok:pull')),
    ).toBe(true);

    await expect(
      pullImage(new OciLayout(await tempDir('lk-cache-')), `${registry.host}/team/tok:1`, {
        credentials: async () => ({ username: 'bob', password: 'x' }),
      }),
    ).rejects.toThrow(/refused the credentials/);
  });
});

describe('TLS registry with a private CA', () => {
  let registry: RunningRegistry;
  let certsDir: string;
  beforeAll(async () => {
    ({ registry, certsDir } = await startTlsRegistry());
  });
  afterAll(async () => registry?.stop());

  test('a certs.d folder for the registry switches it to HTTPS with that CA', async () => {
    const { layout, image } = await makeImageLayout('src/tls:1', 1, 64 << 10);
    await pushImage(layout, 'src/tls:1', `${registry.host}/tls:1`, {
      credentials: noCreds,
      env: { ...process.env, LKBUILD_CERTS_DIR: certsDir },
    });
    const cache = new OciLayout(await tempDir('lk-cache-'));
    const pulled = await pullImage(cache, `${registry.host}/tls:1`, {
      credentials: noCreds,
      env: { ...process.env, LKBUILD_CERTS_DIR: certsDir },
    });
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    // without the CA (and plain HTTP for loopback) the registry cannot be read, and the error says why
    await expect(
      pullImage(cache, `${registry.host}/tls:1`, {
        credentials: noCreds,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        env: { ...process.env, LKBUILD_CERTS_DIR: await tempDir('lk-empty-') },
      }),
    ).rejects.toThrow(/speaks HTTPS, but lkbuild used plain HTTP/);
  });
});
