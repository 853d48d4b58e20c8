// JWT signing, push gcp and run gcp against a loopback OAuth/Cloud Storage/Compute Engine
// (fake-gcp.ts) that verifies the JWT with the public key and every Content-Range, and injects
// throttling, a 5xx half-way through a chunk and an expired token.
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { gcpContext } from '../../src/cloud/gcp-api.js';
import { serviceAccountJwt } from '../../src/cloud/gcp-auth.js';
import { pushGcp } from '../../src/cloud/push-gcp.js';
import { runGcp } from '../../src/cloud/run-gcp.js';
import { LkError } from '../../src/errors.js';
import { writeArchive } from './disk-fixture.js';
import { FakeGcp, PROJECT } from './fake-gcp.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const email = 'lkbuild@lk-test-project.iam.gserviceaccount.com';

test('the service-account JWT is RS256 over header.claims and verifies with the public key', () => {
  const jwt = serviceAccountJwt(
    { client_email: email, private_key: pem, private_key_id: 'key-1' },
    'https://oauth2.example/token',
    1_700_000_000,
  );
  const [h, c, s] = jwt.split('.');
  expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
  expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toEqual({
    iss: email,
    sub: email,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    aud: 'https://oauth2.example/token',
    iat: 1_700_000_000,
    exp: 1_700_003_600,
  });
  expect(createVerify('RSA-SHA256').update(`${h}.${c}`).verify(publicKey, Buffer.from(s, 'base64url'))).toBe(true);
  // Another key pair's public key does not verify it.
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  expect(createVerify('RSA-SHA256').update(`${h}.${c}`).verify(other, Buffer.from(s, 'base64url'))).toBe(false);
});

let work = '';
let gcp: FakeGcp;
const fast = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };
const log: string[] = [];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-push-gcp-'));
  gcp = await new FakeGcp(publicKey, email).start();
  log.length = 0;
  await writeFile(
    join(work, 'key.json'),
    JSON.stringify({
      type: 'service_account',
      project_id: PROJECT,
      private_key_id: 'k1',
      private_key: pem,
      client_email: email,
      token_uri: `${gcp.url}/token`,
    }),
  );
});
afterEach(async () => {
  await gcp.stop();
  await rm(work, { recursive: true, force: true });
});

const env = () => ({
  HOME: work,
  GOOGLE_APPLICATION_CREDENTIALS: join(work, 'key.json'),
  STORAGE_EMULATOR_HOST: gcp.url,
  CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${gcp.url}/compute/v1/`,
});

const push = async (file: string, extra: Partial<Parameters<typeof pushGcp>[1]> = {}) =>
  pushGcp(await gcpContext(env(), undefined, fast), {
    file,
    name: 'lk-node',
    bucket: 'lk-images',
    log: (l) => log.push(l),
    pollMs: 5,
    chunkBytes: 256 * 1024,
    ...extra,
  });

describe('push gcp', () => {
  test('resumes the upload after a 5xx half-way through a chunk, renews an expired token, creates the image once', async () => {
    const file = join(work, 'node.img.tar.gz');
    const disk = await writeArchive(file, 9 * 256 * 1024 + 1000);
    gcp.faults = [
      { op: 'images.list', status: 429, reason: 'rateLimitExceeded' },
      { op: 'upload chunk', nth: 2, status: 503, reason: 'backendError' }, // keeps half the chunk
    ];
    gcp.expireTokenAfterChunks = 3;
    const r = await push(file, { gvnic: true, chunkBytes: 512 * 1024 });
    expect(gcp.violations).toEqual([]);
    expect(r).toMatchObject({ image: 'lk-node', existing: false });
    // The object is the archive, byte for byte, and holds the disk.
    const obj = gcp.objects.get(`lk-images/lkbuild/${r.digest.slice(7)}.img.tar.gz`)!;
    expect(
      gunzipSync(obj.data)
        .subarray(512, 512 + disk.length)
        .equals(disk),
    ).toBe(true);
    expect(obj.metadata['lkbuild-digest']).toBe(r.digest);
    expect(gcp.tokensIssued).toBe(2);
    const image = gcp.images.get('lk-node')!;
    expect(image.status).toBe('READY');
    expect(image.body.guestOsFeatures).toEqual([{ type: 'UEFI_COMPATIBLE' }, { type: 'GVNIC' }]);
    expect(image.body.labels).toEqual({ 'lkbuild-digest': r.digest.slice(7, 70) });
    const ops = gcp.calls.filter((c) => c !== 'token');
    expect(ops.slice(0, 3)).toEqual(['images.list', 'objects.get', 'upload start']);
    expect(ops.slice(-4)).toEqual(['images.insert', 'operations.get', 'operations.get', 'images.list']);
  });

  test('a second push of the same archive finds the image and changes nothing', async () => {
    const file = join(work, 'node.img.tar.gz');
    await writeArchive(file, 300_000);
    const first = await push(file);
    const before = gcp.calls.length;
    const again = await push(file, { name: 'other-name' });
    expect(again).toEqual({ image: 'lk-node', digest: first.digest, existing: true });
    expect(gcp.calls.slice(before).filter((c) => c !== 'token')).toEqual(['images.list']);
    expect(gcp.images.size).toBe(1);
  });

  test('an image that fails to be created leaves the object for the next push, which does not upload again', async () => {
    const file = join(work, 'node.img.tar.gz');
    await writeArchive(file, 300_000);
    gcp.faults = [{ op: 'images.insert', status: 403, reason: 'forbidden' }];
    const e = await push(file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).hint).toContain('GCP roles');
    expect(gcp.images.size).toBe(0);
    const uploads = gcp.calls.filter((c) => c === 'upload start').length;
    await push(file);
    expect(gcp.calls.filter((c) => c === 'upload start').length).toBe(uploads);
    expect(gcp.images.size).toBe(1);
  });

  test('on a GCE VM: the project and the tokens come from the metadata server', async () => {
    const file = join(work, 'node.img.tar.gz');
    await writeArchive(file, 300_000);
    gcp.expireTokenAfterChunks = 1;
    const vmEnv = {
      HOME: work,
      GCE_METADATA_HOST: new URL(gcp.url).host,
      STORAGE_EMULATOR_HOST: gcp.url,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${gcp.url}/compute/v1/`,
    };
    const ctx = await gcpContext(vmEnv, undefined, fast);
    expect(ctx.project).toBe(PROJECT);
    const r = await pushGcp(ctx, { file, name: 'lk-vm', bucket: 'lk-images', log: () => {}, pollMs: 5, chunkBytes: 256 * 1024 });
    expect(r.existing).toBe(false);
    expect(gcp.tokensIssued).toBe(2); // the first expired after one chunk
    expect(gcp.violations).toEqual([]);
  });

  test('a file that is not a gcp archive fails before any request', async () => {
    const file = join(work, 'node.img.tar.gz');
    await writeFile(file, 'not gzip');
    const e = await push(file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).message).toContain("does not hold a gzip'd tar whose first file is disk.raw");
    expect(gcp.calls).toEqual([]);
  });
});

describe('run gcp', () => {
  test('creates an instance with the user data, follows serial port 1 to ready, deletes it on --rm', async () => {
    const file = join(work, 'node.img.tar.gz');
    await writeArchive(file, 300_000);
    const data = join(work, 'user-data');
    await writeFile(data, 'hello from the test');
    let text = '';
    const ctx = await gcpContext(env(), undefined, fast);
    const r = await runGcp(ctx, {
      image: file,
      name: 'lk-run',
      bucket: 'lk-images',
      zone: 'europe-west1-b',
      dataFile: data,
      rm: true,
      pollMs: 5,
      timeoutMs: 30_000,
      log: () => {},
      write: (t) => (text += t),
    });
    expect(gcp.violations).toEqual([]);
    expect(r.instance).toMatch(/^lk-run-[0-9a-f]{6}$/);
    const inst = gcp.instances.get(r.instance)!;
    expect(inst.status).toBe('TERMINATED');
    expect((inst.body.metadata as { items: { key: string; value: string }[] }).items).toContainEqual({
      key: 'user-data',
      value: 'hello from the test',
    });
    expect(text).toBe(
      'lk-init: start uptime=0.5\nlk-init: onboot dhcpcd exit=0 uptime=1.1\nlk-init: service sshd started pid=77 uptime=1.4\nlk-init: ready uptime=1.5\n',
    );
    expect(gcp.calls.filter((c) => c !== 'token' && c !== 'operations.get').slice(-1)).toEqual(['instances.delete']);
  });
});
