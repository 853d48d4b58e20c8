/**
 * Google Cloud access tokens, found as Google's client libraries find them: the JSON key named
 * by GOOGLE_APPLICATION_CREDENTIALS, else gcloud's application default credentials file, else
 * the metadata server of the VM lkbuild runs on. A service-account key becomes an RS256 JWT
 * (RFC 7519, Google's OAuth 2.0 service-account flow) exchanged at the key's token_uri.
 */
import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import type { NetOptions } from '../net/defaults.js';
import { callService, jsonBody, type ServiceRules } from './http.js';
import { Renewable } from './renewable.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
  project_id?: string;
}
interface AuthorizedUser {
  type: 'authorized_user';
  client_id: string;
  client_secret: string;
  refresh_token: string;
  quota_project_id?: string;
}
type KeyFile = ServiceAccountKey | AuthorizedUser;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A signed JWT for the service account: iss/sub = the account, aud = the token endpoint. Pure. */
export function serviceAccountJwt(
  key: Pick<ServiceAccountKey, 'client_email' | 'private_key' | 'private_key_id'>,
  audience: string,
  nowSeconds: number,
  scope = CLOUD_PLATFORM_SCOPE,
): string {
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, sub: key.client_email, scope, aud: audience, iat: nowSeconds, exp: nowSeconds + 3600 };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  try {
    signature = createSign('RSA-SHA256').update(input).sign(key.private_key);
  } catch (e) {
    throw new LkError(
      'cloud',
      `the service-account key of ${key.client_email} cannot sign: ${(e as Error).message}`,
      'download a new JSON key for the service account',
    );
  }
  return `${input}.${b64url(signature)}`;
}

const noCredentialsHint =
  'set GOOGLE_APPLICATION_CREDENTIALS to a service-account JSON key, run `gcloud auth application-default login`, or run on GCE with a service account';

async function readKeyFile(path: string, required: boolean): Promise<KeyFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LkError(
      'cloud',
      `cannot read the Google credentials file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      noCredentialsHint,
    );
  }
  let key: Partial<KeyFile> & { type?: string };
  try {
    key = JSON.parse(text) as typeof key;
  } catch {
    throw new LkError('cloud', `${path} is not JSON`, 'expected a service-account key as the Cloud console downloads it');
  }
  if (key.type === 'service_account' && typeof key.client_email === 'string' && typeof key.private_key === 'string')
    return key as ServiceAccountKey;
  if (key.type === 'authorized_user' && key.refresh_token && key.client_id && key.client_secret) return key as AuthorizedUser;
  throw new LkError(
    'cloud',
    `${path} is neither a service-account key nor gcloud user credentials (type ${JSON.stringify(key.type)})`,
    'expected a service-account key as the Cloud console downloads it',
  );
}

/** Tokens for the Google APIs; renew() forgets the current one (the API said it expired). */
export class GcpAuth {
  private readonly current = new Renewable(() => this.fetchToken());
  private source?: Promise<KeyFile | 'metadata'>;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly net: NetOptions = {},
  ) {}

  token(): Promise<string> {
    return this.current.get();
  }

  renew(): void {
    this.current.renew();
  }

  /** The project: --project, the environment, the key, then the metadata server. */
  async project(flag?: string): Promise<string> {
    const fromEnv = flag || this.env.CLOUDSDK_CORE_PROJECT || this.env.GOOGLE_CLOUD_PROJECT;
    const src = fromEnv ? undefined : await this.credentialSource();
    const project =
      fromEnv ??
      (src === 'metadata'
        ? await this.metadata('project/project-id')
        : src && (src.type === 'service_account' ? src.project_id : src.quota_project_id));
    if (!project) throw new LkError('cloud', 'no Google Cloud project given', 'pass --project or set GOOGLE_CLOUD_PROJECT');
    if (!/^[a-z][-a-z0-9.:]{4,61}[a-z0-9]$/.test(project))
      throw new LkError('cloud', `"${project}" is not a Google Cloud project id`, 'expected a project id like my-project-123');
    return project;
  }

  private credentialSource(): Promise<KeyFile | 'metadata'> {
    this.source ??= (async () => {
      const explicit = this.env.GOOGLE_APPLICATION_CREDENTIALS;
      if (explicit) return (await readKeyFile(explicit, true))!;
      const home = this.env.HOME || homedir();
      const adc = join(this.env.CLOUDSDK_CONFIG || join(home, '.config/gcloud'), 'application_default_credentials.json');
      return (await readKeyFile(adc, false)) ?? 'metadata';
    })();
    return this.source;
  }

  private metadataBase(): string {
    return `http://${this.env.GCE_METADATA_HOST || '169.254.169.254'}/computeMetadata/v1`;
  }

  private async metadata(path: string): Promise<string> {
    try {
      const res = await callService(
        plainRules('metadata server', { 'metadata-flavor': 'Google' }),
        { method: 'GET', url: new URL(`${this.metadataBase()}/${path}`) },
        {
          retry: { attempts: 2, baseDelayMs: 100 },
          idleTimeoutMs: 1_000,
          what: `GET ${path}`,
        },
      );
      return res.body.toString('utf8');
    } catch (e) {
      throw new LkError(
        'cloud',
        'no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS, gcloud application default credentials and the metadata server tried)',
        noCredentialsHint,
        { cause: e },
      );
    }
  }

  private async fetchToken(): Promise<string> {
    const src = await this.credentialSource();
    if (src === 'metadata') {
      const t = JSON.parse(await this.metadata('instance/service-accounts/default/token')) as { access_token?: string };
      if (!t.access_token) throw new LkError('cloud', 'the metadata server gave no access token', noCredentialsHint);
      return t.access_token;
    }
    const tokenUri = src.type === 'service_account' ? src.token_uri || DEFAULT_TOKEN_URI : DEFAULT_TOKEN_URI;
    const form: Record<string, string> =
      src.type === 'service_account'
        ? {
            grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
            assertion: serviceAccountJwt(src, tokenUri, Math.floor(Date.now() / 1000)),
          }
        : { grant_type: 'refresh_token', refresh_token: src.refresh_token, client_id: src.client_id, client_secret: src.client_secret };
    // The JWT is valid for an hour: the retries of this exchange can all send the same one.
    const res = await callService(
      plainRules('Google OAuth'),
      {
        method: 'POST',
        url: new URL(tokenUri),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      },
      { ...this.net, what: 'token exchange' },
    );
    const t = jsonBody<{ access_token?: string }>(res, 'token exchange');
    if (!t.access_token) throw new LkError('cloud', `${tokenUri} gave no access token`, noCredentialsHint);
    return t.access_token;
  }
}

/** Rules for endpoints that take no token: the token endpoint itself, the metadata server. */
function plainRules(name: string, headers: Record<string, string> = {}): ServiceRules {
  return {
    name,
    authorize: async () => headers,
    renew: () => {},
    isThrottled: () => false,
    isExpired: () => false,
    errorText: (res) => res.body.toString('utf8').slice(0, 300),
    hint: () => noCredentialsHint,
  };
}
