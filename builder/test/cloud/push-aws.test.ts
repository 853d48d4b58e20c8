// push aws and run aws against a loopback EC2/EBS/IMDS (fake-aws.ts) that checks signatures,
// block checksums and the order of calls, and injects throttling, 5xx and an expired token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { awsContext } from '../../src/cloud/aws-api.js';
import { pushAws } from '../../src/cloud/push-aws.js';
import { runAws } from '../../src/cloud/run-aws.js';
import { LkError } from '../../src/errors.js';
import { writeDisk } from './disk-fixture.js';
import { FakeAws, REGION, snapshotSha256 } from './fake-aws.js';

let work = '';
let aws: FakeAws;
const log: string[] = [];
const fast = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-push-aws-'));
  aws = await new FakeAws().start();
  log.length = 0;
});
afterEach(async () => {
  await aws.stop();
  await rm(work, { recursive: true, force: true });
});

/** Credentials from instance metadata (so an expired token can be renewed), endpoints at the fake. */
const imdsEnv = () => ({ HOME: work, AWS_REGION: REGION, AWS_ENDPOINT_URL: aws.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url });
const staticEnv = () => ({
  HOME: work,
  AWS_REGION: REGION,
  AWS_ENDPOINT_URL: aws.url,
  AWS_ACCESS_KEY_ID: 'AKIDSTATIC',
  AWS_SECRET_ACCESS_KEY: 'static-secret',
});
const ctx = (env: NodeJS.ProcessEnv) => awsContext(REGION, env, fast);
const push = (env: NodeJS.ProcessEnv, file: string, name = 'lk-node') =>
  pushAws(ctx(env), { file, name, jobs: 4, log: (l) => log.push(l), pollMs: 5 });

describe('push aws', () => {
  test('uploads the non-zero blocks through throttling, a 5xx and an expired token, then registers once', async () => {
    const file = join(work, 'node.raw');
    const disk = await writeDisk(file, 24, [3, 4, 9, 10, 11, 17, 23]);
    aws.faults = [
      { op: 'DescribeImages', status: 503, code: 'RequestLimitExceeded' },
      { op: 'StartSnapshot', status: 400, code: 'ThrottlingException' },
      { op: 'PutSnapshotBlock', nth: 3, status: 500, code: 'InternalServerException' },
    ];
    aws.expireImdsKeyAfterBlocks = 2;
    const r = await push(imdsEnv(), file);

    expect(aws.violations).toEqual([]);
    expect(r.existing).toBe(false);
    expect(r.imageId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(r.digest).toBe(`sha256:${disk.sha256}`);
    // The token expired once and was renewed from instance metadata.
    expect(aws.imdsIssued).toBeGreaterThanOrEqual(2);
    // Only blocks with data were sent, each block's content arrived, and the snapshot is the disk.
    const snap = aws.snapshots.get(r.snapshotId!)!;
    expect([...snap.blocks.keys()].sort((a, b) => a - b)).toEqual(disk.dataBlocks);
    expect(snapshotSha256(snap, 24 * 512 * 1024)).toBe(disk.sha256);
    expect(snap.volumeSize).toBe(1);
    expect(snap.tags['lkbuild:digest']).toBe(r.digest);
    // Order: look for the image and a finished snapshot, start, blocks, complete, wait, register.
    const ops = aws.calls.filter((c) => c !== 'IMDS credentials');
    const blocks = ops.filter((c) => c === 'PutSnapshotBlock').length;
    expect(ops.slice(0, 3)).toEqual(['DescribeImages', 'DescribeSnapshots', 'StartSnapshot']);
    expect(ops.slice(3, 3 + blocks).every((c) => c === 'PutSnapshotBlock')).toBe(true);
    expect(ops.slice(3 + blocks)).toEqual(['CompleteSnapshot', 'DescribeSnapshots', 'DescribeSnapshots', 'RegisterImage']);
    expect(blocks).toBeGreaterThanOrEqual(disk.dataBlocks.length);
    // One AMI, dual boot, ENA, IMDSv2, tagged with the digest at registration.
    expect(aws.images).toHaveLength(1);
    const p = aws.images[0].params;
    expect(p.BootMode).toBe('uefi-preferred');
    expect(p.EnaSupport).toBe('true');
    expect(p.TpmSupport).toBeUndefined();
    expect(p['BlockDeviceMapping.1.Ebs.SnapshotId']).toBe(r.snapshotId);
    expect(p.RootDeviceName).toBe('/dev/xvda');
    expect(aws.images[0].tags).toEqual({ 'lkbuild:digest': r.digest, Name: 'lk-node' });
  });

  test('a second push of the same disk finds the AMI and changes nothing', async () => {
    const file = join(work, 'node.raw');
    await writeDisk(file, 8, [2]);
    const first = await push(staticEnv(), file);
    const before = aws.calls.length;
    const again = await push(staticEnv(), file, 'another-name');
    expect(again).toEqual({ imageId: first.imageId, digest: first.digest, existing: true });
    expect(aws.calls.slice(before)).toEqual(['DescribeImages']);
    expect(aws.images).toHaveLength(1);
    expect(aws.violations).toEqual([]);
  });

  test('a push that fails mid-upload registers nothing; the next push resumes the same snapshot', async () => {
    const file = join(work, 'node.raw');
    const disk = await writeDisk(file, 16, [1, 5, 6, 12]);
    aws.faults = [{ op: 'PutSnapshotBlock', nth: 2, status: 403, code: 'AccessDeniedException' }];
    const failed = await push(staticEnv(), file).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(LkError);
    expect((failed as LkError).message).toContain('AccessDeniedException');
    expect((failed as LkError).hint).toContain('IAM permissions');
    expect(aws.images).toHaveLength(0);
    expect(aws.calls).not.toContain('CompleteSnapshot');
    expect(aws.calls).not.toContain('RegisterImage');

    const r = await push(staticEnv(), file);
    expect(aws.snapshots.size).toBe(1); // the same client token gave back the pending snapshot
    expect(snapshotSha256(aws.snapshots.get(r.snapshotId!)!, 16 * 512 * 1024)).toBe(disk.sha256);
    expect(aws.images).toHaveLength(1);
    expect(aws.violations).toEqual([]);
  });

  test('throttling that never ends fails with a clear error after the attempts', async () => {
    const file = join(work, 'node.raw');
    await writeDisk(file, 4, []);
    aws.faults = [{ op: 'DescribeImages', status: 503, code: 'RequestLimitExceeded', times: 99 }];
    const e = await push(staticEnv(), file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).message).toMatch(/^EC2 DescribeImages failed after 5 attempts: HTTP 503: RequestLimitExceeded/);
    expect(aws.calls).toEqual([]);
  });

  test('--tpm and --boot-mode reach RegisterImage', async () => {
    const file = join(work, 'node.raw');
    await writeDisk(file, 4, [1]);
    await pushAws(ctx(staticEnv()), { file, name: 'lk-tpm', bootMode: 'uefi', tpm: true, log: () => {}, pollMs: 5 });
    expect(aws.images[0].params.BootMode).toBe('uefi');
    expect(aws.images[0].params.TpmSupport).toBe('v2.0');
  });
});

describe('run aws', () => {
  test('starts an instance with the user data, follows the console to ready, terminates on --rm', async () => {
    const file = join(work, 'node.raw');
    await writeDisk(file, 4, [1]);
    const data = join(work, 'user-data.json');
    await writeFile(data, '{"ssh":{"entries":{"authorized_keys":{"perm":"0600","content":"ssh-ed25519 AAAA test"}}}}');
    aws.faults = [{ op: 'GetConsoleOutput', status: 503, code: 'Unavailable' }];
    let consoleText = '';
    const r = await runAws(ctx(staticEnv()), {
      image: file,
      name: 'lk-run',
      dataFile: data,
      rm: true,
      pollMs: 5,
      timeoutMs: 30_000,
      log: (l) => log.push(l),
      write: (t) => (consoleText += t),
    });
    expect(aws.violations).toEqual([]);
    const inst = aws.instances.get(r.instanceId)!;
    expect(inst.imageId).toBe(r.imageId);
    expect(inst.userData).toBe('{"ssh":{"entries":{"authorized_keys":{"perm":"0600","content":"ssh-ed25519 AAAA test"}}}}');
    expect(inst.params['MetadataOptions.HttpTokens']).toBe('required');
    expect(inst.state).toBe('terminated');
    // Each console line printed once, in order, ending with the ready marker.
    expect(consoleText).toBe(
      'lk-init: start uptime=0.4\nlk-init: onboot metadata exit=0 uptime=1.0\nlk-init: service sshd started pid=90 uptime=1.2\nlk-init: ready uptime=1.3\n',
    );
    const ops = aws.calls;
    expect(ops.indexOf('RunInstances')).toBeGreaterThan(ops.indexOf('RegisterImage'));
    expect(ops.at(-1)).toBe('TerminateInstances');
  });

  test('a boot that never gets ready times out and still terminates with --rm', async () => {
    const file = join(work, 'node.raw');
    await writeDisk(file, 4, [1]);
    const { imageId } = await push(staticEnv(), file);
    aws.neverReady = true;
    const e = await runAws(ctx({ ...staticEnv() }), {
      image: imageId,
      name: 'lk-run',
      rm: true,
      pollMs: 5,
      timeoutMs: 300,
      log: () => {},
      write: () => {},
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).message).toMatch(/^i-[0-9a-f]+ did not print "lk-init: ready" within 0s$/);
    expect([...aws.instances.values()][0].state).toBe('terminated');
  });
});

test('keys that stay expired fail with a hint to renew them', async () => {
  const file = join(work, 'node.raw');
  await writeDisk(file, 4, [1]);
  aws.keys.get('AKIDSTATIC')!.expired = true;
  const e = await push(staticEnv(), file).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(LkError);
  expect((e as LkError).message).toBe(
    'EC2 DescribeImages failed after 5 attempts: the credentials expired: ExpiredToken: The security token included in the request is expired',
  );
  expect((e as LkError).hint).toContain('renew the session token');
});
