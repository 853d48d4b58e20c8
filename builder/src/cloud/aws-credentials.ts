/**
 * AWS credentials and region, found the way the AWS SDKs look for them: environment variables,
 * then the shared credentials and config files (AWS_PROFILE, default "default"), then the EC2
 * instance metadata service with IMDSv2 session tokens. Static keys only: profiles that assume
 * roles or use SSO are reported, not followed.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { callService, jsonBody, type ServiceRules } from './http.js';
import { Renewable } from './renewable.js';
import type { AwsCredentials } from './sigv4.js';

export type Ini = Record<string, Record<string, string>>;

/** The INI dialect of ~/.aws/credentials and ~/.aws/config: [section], key = value, # and ; comments. */
export function parseIni(text: string): Ini {
  const out: Ini = {};
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      section = out[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (section && eq > 0) section[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}

async function readIni(path: string): Promise<Ini> {
  try {
    return parseIni(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new LkError('cloud', `cannot read ${path}: ${(e as Error).message}`, 'check the AWS shared credentials and config files');
  }
}

const home = (env: NodeJS.ProcessEnv) => env.HOME || homedir();

/** The profile's settings from both files; the credentials file wins, as in the SDKs. */
export async function profileSettings(env: NodeJS.ProcessEnv): Promise<{ name: string; settings: Record<string, string>; found: boolean }> {
  const name = env.AWS_PROFILE || 'default';
  const creds = await readIni(env.AWS_SHARED_CREDENTIALS_FILE || join(home(env), '.aws/credentials'));
  const config = await readIni(env.AWS_CONFIG_FILE || join(home(env), '.aws/config'));
  const fromConfig = config[name === 'default' ? 'default' : `profile ${name}`] ?? (name === 'default' ? undefined : config[name]);
  const fromCreds = creds[name];
  return { name, settings: { ...fromConfig, ...fromCreds }, found: Boolean(fromConfig || fromCreds) };
}

const noCredentialsHint =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE), or run on EC2 with an instance role';

/** Instance metadata (IMDSv2): a session token first, then the role's temporary keys. */
export class Imds {
  private readonly base: string;
  constructor(private readonly env: NodeJS.ProcessEnv) {
    this.base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254').replace(/\/+$/, '');
  }

  get disabled(): boolean {
    return this.env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true';
  }

  private rules(token?: string): ServiceRules {
    return {
      name: 'instance metadata',
      authorize: async (): Promise<Record<string, string>> => (token ? { 'x-aws-ec2-metadata-token': token } : {}),
      renew: () => {},
      isThrottled: () => false,
      isExpired: () => false,
      errorText: (res) => res.body.toString('utf8').slice(0, 200),
      hint: () => noCredentialsHint,
    };
  }

  /** Off EC2 nothing answers: two quick attempts, not the API's patience. */
  private readonly quick = { retry: { attempts: 2, baseDelayMs: 100 }, idleTimeoutMs: 1_000 };

  async get(path: string): Promise<string> {
    const token = await callService(
      this.rules(),
      { method: 'PUT', url: new URL(`${this.base}/latest/api/token`), headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' } },
      { ...this.quick, what: 'PUT /latest/api/token' },
    );
    const res = await callService(
      this.rules(token.body.toString('utf8')),
      { method: 'GET', url: new URL(`${this.base}${path}`) },
      { ...this.quick, what: `GET ${path}` },
    );
    return res.body.toString('utf8');
  }

  async credentials(): Promise<AwsCredentials> {
    const role = (await this.get('/latest/meta-data/iam/security-credentials/')).split('\n')[0].trim();
    if (!role) throw new LkError('cloud', 'this EC2 instance has no IAM role', noCredentialsHint);
    const path = `/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`;
    const c = jsonBody<{ AccessKeyId?: string; SecretAccessKey?: string; Token?: string }>(
      { status: 200, headers: {}, body: Buffer.from(await this.get(path)) },
      `GET ${path}`,
    );
    if (!c.AccessKeyId || !c.SecretAccessKey)
      throw new LkError('cloud', `instance metadata gave no keys for the role ${role}`, noCredentialsHint);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token };
  }
}

/** The credential chain, resolved once and again after renew() (an expired IMDS key). */
export class AwsCredentialChain {
  private readonly current = new Renewable(() => this.resolve());
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  get(): Promise<AwsCredentials> {
    return this.current.get();
  }

  renew(): void {
    this.current.renew();
  }

  private async resolve(): Promise<AwsCredentials> {
    const env = this.env;
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      return {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
      };
    }
    const profile = await profileSettings(env);
    const s = profile.settings;
    if (s.aws_access_key_id && s.aws_secret_access_key) {
      return { accessKeyId: s.aws_access_key_id, secretAccessKey: s.aws_secret_access_key, sessionToken: s.aws_session_token || undefined };
    }
    if (s.role_arn || s.sso_start_url || s.sso_session || s.credential_process) {
      throw new LkError(
        'cloud',
        `AWS profile "${profile.name}" uses role assumption, SSO or a credential process, which lkbuild does not follow`,
        'export temporary keys first (e.g. `aws configure export-credentials --format env`)',
      );
    }
    if (env.AWS_PROFILE && !profile.found)
      throw new LkError(
        'cloud',
        `AWS profile "${profile.name}" (AWS_PROFILE) is in neither ~/.aws/credentials nor ~/.aws/config`,
        noCredentialsHint,
      );
    if (new Imds(env).disabled) throw new LkError('cloud', 'no AWS credentials found', noCredentialsHint);
    try {
      return await new Imds(env).credentials();
    } catch (e) {
      throw new LkError('cloud', 'no AWS credentials found (environment, shared files and instance metadata tried)', noCredentialsHint, {
        cause: e,
      });
    }
  }
}

/** The region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then instance metadata. */
export async function resolveAwsRegion(env: NodeJS.ProcessEnv, flag?: string): Promise<string> {
  const region = flag || env.AWS_REGION || env.AWS_DEFAULT_REGION || (await profileSettings(env)).settings.region;
  if (region) return checkRegion(region);
  const imds = new Imds(env);
  if (!imds.disabled) {
    try {
      return checkRegion((await imds.get('/latest/meta-data/placement/region')).trim());
    } catch {
      // Not on EC2: fall through to the error below.
    }
  }
  throw new LkError('cloud', 'no AWS region given', 'pass --region, or set AWS_REGION or region in the profile');
}

function checkRegion(region: string): string {
  if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(region))
    throw new LkError('cloud', `"${region}" is not an AWS region name`, 'expected a name like eu-west-1');
  return region;
}
