// Where credentials and regions come from, in the SDKs' order: environment, shared files
// (credentials over config, AWS_PROFILE), instance metadata (IMDSv2) last.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AwsCredentialChain, parseIni, resolveAwsRegion } from '../../src/cloud/aws-credentials.js';
import { awsEndpoint } from '../../src/cloud/aws-api.js';
import { computeEndpoint, storageEndpoint } from '../../src/cloud/gcp-api.js';
import { LkError } from '../../src/errors.js';
import { FakeAws } from './fake-aws.js';

let home = '';
let aws: FakeAws;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'lk-creds-'));
  await mkdir(join(home, '.aws'));
  await writeFile(
    join(home, '.aws/credentials'),
    '# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret-default\n\n[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=secret-ci\naws_session_token = token-ci\n',
  );
  await writeFile(
    join(home, '.aws/config'),
    '[default]\nregion = eu-central-1\n[profile ci]\nregion = us-west-2\n[profile sso]\nsso_session = corp\n[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = secret-cfg\n',
  );
  aws = await new FakeAws().start();
});
afterAll(async () => {
  await aws.stop();
  await rm(home, { recursive: true, force: true });
});

const noImds = { AWS_EC2_METADATA_DISABLED: 'true' };

describe('AWS credentials', () => {
  test('the environment comes first', async () => {
    const c = await new AwsCredentialChain({
      HOME: home,
      AWS_ACCESS_KEY_ID: 'AKIDENV',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_SESSION_TOKEN: 't',
    }).get();
    expect(c).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 's', sessionToken: 't' });
  });
  test.each([
    [undefined, { accessKeyId: 'AKIDDEFAULT', secretAccessKey: 'secret-default', sessionToken: undefined }],
    ['ci', { accessKeyId: 'AKIDCI', secretAccessKey: 'secret-ci', sessionToken: 'token-ci' }],
    ['cfg', { accessKeyId: 'AKIDCFG', secretAccessKey: 'secret-cfg', sessionToken: undefined }],
  ])('profile %s from the shared files', async (profile, want) => {
    expect(await new AwsCredentialChain({ HOME: home, ...noImds, ...(profile ? { AWS_PROFILE: profile } : {}) }).get()).toEqual(want);
  });
  test('an SSO profile is reported, not followed', async () => {
    await expect(new AwsCredentialChain({ HOME: home, AWS_PROFILE: 'sso', ...noImds }).get()).rejects.toThrow(
      /uses role assumption, SSO or a credential process/,
    );
  });
  test('IMDSv2: a session token, then the role, then its keys', async () => {
    const c = await new AwsCredentialChain({ HOME: join(home, 'nowhere'), AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url }).get();
    expect(c).toEqual({ accessKeyId: 'ASIAIMDS1', secretAccessKey: 'imds-secret-1', sessionToken: 'imds-token-1' });
  });
  test('nothing anywhere is an LkError that says where to put keys', async () => {
    const e = await new AwsCredentialChain({ HOME: join(home, 'nowhere'), AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' })
      .get()
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LkError);
    expect((e as LkError).message).toBe('no AWS credentials found (environment, shared files and instance metadata tried)');
  });
  test('regions: flag, environment, profile', async () => {
    expect(await resolveAwsRegion({ HOME: home, AWS_REGION: 'eu-west-3' }, 'ap-south-1')).toBe('ap-south-1');
    expect(await resolveAwsRegion({ HOME: home, AWS_DEFAULT_REGION: 'eu-west-3' })).toBe('eu-west-3');
    expect(await resolveAwsRegion({ HOME: home, AWS_PROFILE: 'ci' })).toBe('us-west-2');
    expect(await resolveAwsRegion({ HOME: home })).toBe('eu-central-1');
    await expect(resolveAwsRegion({ HOME: home, AWS_REGION: 'mars' })).rejects.toThrow('"mars" is not an AWS region name');
  });
  test('the INI reader keeps sections apart and ignores comments', () => {
    expect(parseIni('; c\n[a]\nk = v = w\n[b]\n# x\nK=1\n')).toEqual({ a: { k: 'v = w' }, b: { k: '1' } });
  });
});

describe('endpoints', () => {
  test('AWS: the service variable over AWS_ENDPOINT_URL over the public endpoint', () => {
    expect(awsEndpoint('ebs', 'eu-west-1', {}).href).toBe('https://ebs.eu-west-1.amazonaws.com/');
    expect(awsEndpoint('ec2', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://localhost:4566' }).href).toBe('http://localhost:4566/');
    expect(awsEndpoint('ec2', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_EC2: 'http://b:2' }).href).toBe(
      'http://b:2/',
    );
    expect(() => awsEndpoint('ebs', 'eu-west-1', { AWS_ENDPOINT_URL_EBS: 'not a url' })).toThrow(
      '"not a url" is not a URL (AWS_ENDPOINT_URL_EBS)',
    );
  });
  test('GCP: STORAGE_EMULATOR_HOST with or without a scheme, the compute override', () => {
    expect(storageEndpoint({}).href).toBe('https://storage.googleapis.com/');
    expect(storageEndpoint({ STORAGE_EMULATOR_HOST: 'localhost:9023' }).href).toBe('http://localhost:9023/');
    expect(storageEndpoint({ STORAGE_EMULATOR_HOST: 'https://gcs.internal' }).href).toBe('https://gcs.internal/');
    expect(computeEndpoint({}).href).toBe('https://compute.googleapis.com/compute/v1/');
    expect(computeEndpoint({ CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: 'http://c:1/compute/v1' }).href).toBe('http://c:1/compute/v1/');
  });
});
