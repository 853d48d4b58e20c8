// The cloud commands as a real process: push aws against the loopback EC2/EBS, and what bad
// input gets (exit 1 with a message and hint, or exit 2 with the usage), never a stack trace.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeArchive, writeDisk } from './disk-fixture.js';
import { FakeAws, REGION } from './fake-aws.js';
import { FakeGcp, PROJECT } from './fake-gcp.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
const stackTrace = /^\s+at /m;
let work = '';
let aws: FakeAws;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-cloud-cli-'));
  aws = await new FakeAws().start();
  await writeDisk(join(work, 'node.raw'), 8, [1, 6]);
  await writeFile(join(work, 'node.qcow2'), 'QFI\xfb');
  await writeFile(join(work, 'fake.raw'), Buffer.alloc(4096));
  await writeArchive(join(work, 'node.img.tar.gz'), 4096);
});
afterAll(async () => {
  await aws.stop();
  await rm(work, { recursive: true, force: true });
});

/** No credentials anywhere unless given: a HOME of our own, no instance metadata. */
function lkbuild(args: string[], env: Record<string, string> = {}) {
  return execa('node', [cli, ...args], {
    reject: false,
    cwd: work,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', HOME: work, AWS_EC2_METADATA_DISABLED: 'true', ...env },
  });
}
const awsEnv = () => ({
  AWS_ACCESS_KEY_ID: 'AKIDSTATIC',
  AWS_SECRET_ACCESS_KEY: 'static-secret',
  AWS_REGION: REGION,
  AWS_ENDPOINT_URL: aws.url,
});

describe('lkbuild push aws', () => {
  test('uploads, registers and prints the AMI id; a second run prints the same id and uploads nothing', async () => {
    const r = await lkbuild(['push', 'aws', 'node.raw', '--name', 'lk-cli'], awsEnv());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(aws.images.map((i) => i.id)).toEqual([r.stdout]);
    expect(aws.violations).toEqual([]);
    const blocks = aws.calls.filter((c) => c === 'PutSnapshotBlock').length;
    expect(blocks).toBe(3); // block 0 (the GPT headers), 1 and 6

    const again = await lkbuild(['push', 'aws', 'node.raw', '--name', 'lk-cli'], awsEnv());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe(r.stdout);
    expect(aws.calls.filter((c) => c === 'PutSnapshotBlock').length).toBe(blocks);
    expect(again.stderr).toContain('holds this disk already');
  });

  test.each([
    [
      'no credentials',
      ['push', 'aws', 'node.raw', '--name', 'lk-cli'],
      { AWS_REGION: REGION },
      'no AWS credentials found',
      'AWS_ACCESS_KEY_ID',
    ],
    [
      'a profile that does not exist',
      ['push', 'aws', 'node.raw', '--name', 'lk-cli'],
      { AWS_REGION: REGION, AWS_PROFILE: 'ci' },
      'AWS profile "ci" (AWS_PROFILE) is in neither',
      '~/.aws/credentials',
    ],
    [
      'no region',
      ['push', 'aws', 'node.raw', '--name', 'lk-cli'],
      { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' },
      'no AWS region given',
      '--region',
    ],
    [
      'a file of another format',
      ['push', 'aws', 'node.qcow2', '--name', 'lk-cli'],
      {},
      'node.qcow2 is not an output of the aws format',
      'NAME.raw',
    ],
    [
      'a .raw that is no GPT disk',
      ['push', 'aws', 'fake.raw', '--name', 'lk-cli'],
      {},
      'fake.raw does not hold a GPT disk',
      'lkbuild build -f aws',
    ],
    ['a missing file', ['push', 'aws', 'gone.raw', '--name', 'lk-cli'], {}, 'cannot read gone.raw: ENOENT', 'NAME.raw'],
    [
      'a gcp push without a project',
      ['push', 'gcp', 'node.img.tar.gz', '--name', 'lk', '--bucket', 'lk-b'],
      { GCE_METADATA_HOST: '127.0.0.1:9' },
      'no Google credentials found',
      'GOOGLE_APPLICATION_CREDENTIALS',
    ],
    [
      'a gcp push without credentials',
      ['push', 'gcp', 'node.img.tar.gz', '--name', 'lk', '--bucket', 'lk-b', '--project', 'lk-test-1'],
      { GCE_METADATA_HOST: '127.0.0.1:9' },
      'no Google credentials found',
      'GOOGLE_APPLICATION_CREDENTIALS',
    ],
    [
      'a gcp push of an aws disk',
      ['push', 'gcp', 'node.raw', '--name', 'lk', '--bucket', 'lk-b', '--project', 'lk-test-1'],
      {},
      'node.raw is not an output of the gcp format',
      'NAME.img.tar.gz',
    ],
  ])('%s: exit 1, message and hint', async (_what, args, env, message, hint) => {
    const r = await lkbuild(args, { ...env, AWS_ENDPOINT_URL: aws.url });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`lkbuild: error: ${message}`);
    expect(r.stderr).toMatch(new RegExp(`hint: .*${hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(r.stderr).not.toMatch(stackTrace);
  });

  test.each([
    [['push', 'aws', 'node.raw'], 'push aws needs --name'],
    [['push', 'aws', 'node.raw', '--name', 'x', '--boot-mode', 'bios'], '--boot-mode is uefi, legacy-bios, uefi-preferred'],
    [['push', 'aws', 'node.raw', '--name', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['push', 'aws', '--name', 'x'], 'push aws needs exactly one image file'],
    [['push', 'gcp', 'n.img.tar.gz', '--name', 'x'], 'push gcp needs --bucket'],
    [['run', 'aws', 'ami-0123', '--name', 'x', '--timeout', 'soon'], '--timeout is a whole number of seconds'],
    [['run', 'gcp', 'img', '--name', 'x'], 'run gcp needs --zone'],
    [['run', 'azure'], 'unknown run target "azure" (qemu, stop, aws or gcp)'],
  ])('lkbuild %j: exit 2 with the usage', async (args, message) => {
    const r = await lkbuild(args, awsEnv());
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`lkbuild: ${message}`);
    expect(r.stderr).toContain('push aws FILE.raw --name NAME');
    expect(r.stderr).not.toMatch(stackTrace);
  });

  test('an AMI name AWS would refuse is a usage error before any upload', async () => {
    const before = aws.calls.length;
    const r = await lkbuild(['push', 'aws', 'node.raw', '--name', 'x'], awsEnv());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--name "x" is not a valid AMI name');
    expect(aws.calls.length).toBe(before);
  });
});

describe('lkbuild push gcp', () => {
  test('uploads, creates the image and prints its path', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'ci@lk-test-project.iam.gserviceaccount.com';
    const gcp = await new FakeGcp(publicKey, email).start();
    try {
      const key = {
        type: 'service_account',
        project_id: PROJECT,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: email,
        token_uri: `${gcp.url}/token`,
      };
      await writeFile(join(work, 'key.json'), JSON.stringify(key));
      const env = {
        GOOGLE_APPLICATION_CREDENTIALS: join(work, 'key.json'),
        STORAGE_EMULATOR_HOST: gcp.url,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${gcp.url}/compute/v1`,
      };
      const r = await lkbuild(['push', 'gcp', 'node.img.tar.gz', '--name', 'lk-cli', '--bucket', 'lk-images', '--multiqueue'], env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(`projects/${PROJECT}/global/images/lk-cli`);
      expect(gcp.violations).toEqual([]);
      expect(gcp.images.get('lk-cli')?.body.guestOsFeatures).toEqual([{ type: 'UEFI_COMPATIBLE' }, { type: 'VIRTIO_SCSI_MULTIQUEUE' }]);
    } finally {
      await gcp.stop();
    }
  });
});
