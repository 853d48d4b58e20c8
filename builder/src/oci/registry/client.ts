import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { LkError } from '../../errors.js';
import { readLimited } from '../../util/read-limited.js';
import { netDefaults, type NetOptions } from '../../net/defaults.js';
import { createDispatcher, requestTimeouts, responseHeader as header } from '../../net/dispatcher.js';
import { request } from '../../net/undici.js';
import { requestChunks } from '../../net/chunk-response.js';
import {
  errorCode,
  isRetryableStatus,
  pauseBeforeRetry,
  retryPolicy,
  RetryableStatus,
  withRetry,
  type RetryPolicy,
} from '../../net/retry.js';
import { MediaType, type Descriptor } from '../media-types.js';
import { sha256Digest } from '../digest.js';
import { parseChallenges } from './challenge.js';
import { dockerConfigCredentials, type CredentialSource } from './credentials.js';
import { realmMayReceiveCredentials, registryEndpoint, type RegistryEndpoint } from './endpoint.js';
import { loadTlsSettings, tlsConnectOptions } from './tls.js';

export interface ClientOptions extends NetOptions {
  credentials?: CredentialSource;
  /** Aborts everything (e.g. an overall deadline). */
  signal?: AbortSignal;
  /** Where proxy, TLS and credential settings are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

type Body = Buffer | string | Readable | null;

/** A response as `send` returns it: its body is undici's Readable, or a ChunkBody (`chunks`). */
interface Response {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  body: AsyncIterable<Buffer> & { dump(): Promise<unknown>; destroy(error?: Error): unknown };
}

interface RequestSpec {
  method: Dispatcher.HttpMethod;
  /** Path below the base URL ("/v2/...") or an absolute URL (upload locations). */
  url: string;
  scope: string;
  headers?: Record<string, string>;
  /** Called per attempt so a stream body can be produced afresh. */
  body?: () => Body;
  /** Statuses returned to the caller instead of raising. */
  accept: number[];
  /** Read the body as chunks straight from the HTTP parser (net/chunk-response.ts): for blob GETs (no request body). */
  chunks?: boolean;
}

export const manifestAccept = [MediaType.imageManifest, MediaType.imageIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(
  ', ',
);
const maxManifestBytes = 4 << 20;

/**
 * A client of one registry (OCI distribution spec). It answers auth challenges (Basic, or
 * Bearer tokens fetched from the realm with the scope asked for), retries 429/5xx and dropped
 * connections with backoff, and resumes blob downloads with ranged GETs.
 */
export class RegistryClient {
  endpoint: RegistryEndpoint;
  private readonly credentials: CredentialSource;
  private readonly retry: RetryPolicy;
  private readonly idleTimeoutMs: number;
  private readonly signal?: AbortSignal;
  private dispatcher?: Dispatcher;
  private ready?: Promise<Dispatcher>;
  private readonly env?: NodeJS.ProcessEnv;
  /** Authorization header per scope, once a challenge has been answered. */
  private readonly authorization = new Map<string, string>();

  constructor(registry: string, opts: ClientOptions = {}) {
    this.endpoint = registryEndpoint(registry, opts.env);
    this.credentials = opts.credentials ?? dockerConfigCredentials(opts.env);
    this.retry = retryPolicy(opts.retry);
    this.idleTimeoutMs = opts.idleTimeoutMs ?? netDefaults.idleTimeoutMs;
    this.signal = opts.signal;
    this.env = opts.env;
  }

  /** The connection pool, created on first use once the registry's TLS settings are known. */
  private connection(): Promise<Dispatcher> {
    this.ready ??= loadTlsSettings(this.endpoint.registry, this.env).then(async (tls) => {
      this.endpoint = registryEndpoint(this.endpoint.registry, this.env, tls !== undefined);
      this.dispatcher = await createDispatcher({
        env: this.env,
        tls: tlsConnectOptions(tls),
        connections: 8,
        idleTimeoutMs: this.idleTimeoutMs,
      });
      return this.dispatcher;
    });
    return this.ready;
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  // ---- reading ----

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.send({
      method: 'GET',
      url: `/v2/${repository}/manifests/${reference}`,
      scope: pullScope(repository),
      headers: { accept: manifestAccept },
      accept: [200, 404],
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new LkError(
        'registry',
        `${this.endpoint.registry}/${repository}:${reference} was not found in the registry`,
        'check the image name and tag',
      );
    }
    const bytes = await this.readSmall(res.body, maxManifestBytes);
    const mediaType =
      contentType(res.headers) ?? (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? MediaType.imageManifest;
    return { mediaType, digest: sha256Digest(bytes), bytes };
  }

  /** Whether the registry has the blob (HEAD). */
  async hasBlob(repository: string, digest: string, scope = pullScope(repository)): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, scope, accept: [200, 404] });
    await res.body.dump();
    return res.statusCode === 200;
  }

  /**
   * The blob's bytes. A connection that drops midway is picked up where it stopped with a
   * ranged GET (or, if the registry ignores ranges, by skipping what was already delivered).
   * The caller verifies the digest.
   */
  async *blobChunks(repository: string, blob: Descriptor, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
    let delivered = 0;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = delivered > 0 ? { range: `bytes=${delivered}-` } : {};
      const res = await this.send({
        method: 'GET',
        url: `/v2/${repository}/blobs/${blob.digest}`,
        scope: pullScope(repository),
        headers,
        accept: [200, 206, 404],
        chunks: true,
      });
      if (res.statusCode === 404) {
        await res.body.dump();
        throw new LkError('registry', `blob ${blob.digest} of ${this.endpoint.registry}/${repository} is missing in the registry`);
      }
      if (res.statusCode === 206 && rangeStart(header(res.headers, 'content-range')) !== delivered) {
        res.body.destroy();
        throw new LkError(
          'registry',
          `${this.endpoint.registry} answered a ranged GET of ${blob.digest} with the wrong range`,
          'the registry or a proxy mishandles ranges',
        );
      }
      let skip = res.statusCode === 200 ? delivered : 0;
      // The descriptor's size bounds what is read: a registry cannot fill the disk with a
      // blob that never ends, nor announce more than it may send.
      if (Number(header(res.headers, 'content-length') ?? 0) > blob.size - delivered + skip) {
        res.body.destroy();
        throw this.blobTooLarge(repository, blob);
      }
      try {
        for await (let chunk of res.body) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.length === 0) continue;
          }
          if (delivered + chunk.length > blob.size) throw this.blobTooLarge(repository, blob);
          delivered += chunk.length;
          onBytes?.(chunk.length);
          yield chunk;
        }
        return;
      } catch (e) {
        res.body.destroy();
        if (!(await pauseBeforeRetry(e, attempt, this.retry, this.signal)))
          throw this.networkError('GET', `blob ${blob.digest}`, e, attempt + 1);
      }
    }
  }

  private readSmall(body: Response['body'], maxBytes: number): Promise<Buffer> {
    return readLimited(
      body,
      maxBytes,
      () => new LkError('registry', `${this.endpoint.registry} sent a response larger than ${maxBytes} bytes`),
    );
  }

  private blobTooLarge(repository: string, blob: Descriptor): LkError {
    return new LkError(
      'registry',
      `${this.endpoint.registry}/${repository} sent more than the ${blob.size} bytes its manifest declares for blob ${blob.digest}`,
      'the registry serves content other than its manifest says; the download was stopped and nothing was stored',
    );
  }

  // ---- writing ----

  /** Tries a cross-repository mount; true when the registry mounted it. Otherwise returns an upload URL. */
  async startUpload(
    repository: string,
    mount?: { digest: string; from: string },
  ): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const scope = mount ? `${pushScope(repository)} ${pullScope(mount.from)}` : pushScope(repository);
    const res = await this.send({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/${query}`,
      scope,
      headers: { 'content-length': '0' },
      accept: [201, 202],
    });
    await res.body.dump();
    if (res.statusCode === 201 && mount) return { mounted: true };
    const location = header(res.headers, 'location');
    if (!location) throw new LkError('registry', `${this.endpoint.registry} started an upload without a Location header`);
    return { mounted: false, location };
  }

  /** Uploads a blob in one PUT (monolithic upload). `body` is called again on a retry. */
  async putBlob(repository: string, location: string, blob: Descriptor, body: () => Body): Promise<void> {
    await this.connection();
    const url = new URL(location, this.endpoint.baseUrl);
    url.searchParams.set('digest', blob.digest);
    const res = await this.send({
      method: 'PUT',
      url: url.toString(),
      scope: pushScope(repository),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body,
      accept: [201, 204],
    });
    await res.body.dump();
  }

  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
    const res = await this.send({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${reference}`,
      scope: pushScope(repository),
      headers: { 'content-type': mediaType },
      body: () => bytes,
      accept: [201, 204],
    });
    await res.body.dump();
  }

  // ---- transport ----

  private async send(spec: RequestSpec): Promise<Response> {
    const dispatcher = await this.connection();
    const url = spec.url.startsWith('http') ? spec.url : this.endpoint.baseUrl + spec.url;
    let answeredChallenge = false;
    const attempt = async (): Promise<Response> => {
      for (;;) {
        const auth = this.authorization.get(spec.scope);
        const opts = {
          method: spec.method,
          headers: { ...spec.headers, ...(auth ? { authorization: auth } : {}) },
          dispatcher,
          signal: this.signal,
          ...requestTimeouts(this.idleTimeoutMs),
        };
        const res: Response = spec.chunks
          ? await requestChunks(url, opts)
          : await request(url, { ...opts, body: spec.body?.() ?? undefined });
        if (res.statusCode === 401 && !answeredChallenge) {
          // A challenge is not a failure: answer it and ask again within the same attempt.
          const challenge = header(res.headers, 'www-authenticate');
          await res.body.dump();
          await this.answerChallenge(challenge, spec.scope);
          answeredChallenge = true;
          continue;
        }
        if (spec.accept.includes(res.statusCode)) return res;
        throw await this.failedStatus(res);
      }
    };
    return withRetry(attempt, {
      policy: this.retry,
      signal: this.signal,
      giveUp: (e, attempts) => this.networkError(spec.method, url, e, attempts),
    });
  }

  /** A response with an unexpected status, as the error an attempt throws: retryable or final. */
  private async failedStatus(res: Response): Promise<Error> {
    const text = await this.readSmall(res.body, 64 << 10).then(
      (b) => b.toString('utf8'),
      () => '',
    );
    if (isRetryableStatus(res.statusCode)) return new RetryableStatus(res.statusCode, header(res.headers, 'retry-after'), text);
    return new FinalStatus(res.statusCode, text);
  }

  private async answerChallenge(headerValue: string | undefined, scope: string): Promise<void> {
    const challenges = parseChallenges(headerValue ?? '');
    const creds = await this.credentials(this.endpoint.registry);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      this.authorization.set(scope, `Bearer ${await this.fetchToken(bearer.params, scope, creds)}`);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!creds) throw this.needLogin();
      this.authorization.set(scope, basicAuth(creds.username, creds.password));
      return;
    }
    throw new LkError(
      'registry',
      `${this.endpoint.registry} asked for authentication this client does not support: ${headerValue ?? '(no challenge)'}`,
    );
  }

  private async fetchToken(
    params: Record<string, string>,
    scope: string,
    creds: { username: string; password: string } | undefined,
  ): Promise<string> {
    if (!params.realm) throw new LkError('registry', `${this.endpoint.registry} sent a Bearer challenge without a realm`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    for (const s of scope.split(' ')) url.searchParams.append('scope', s);
    // Credentials go only where the registry lives; a realm elsewhere is asked anonymously.
    const withheld = creds !== undefined && !realmMayReceiveCredentials(url, this.endpoint);
    const headers: Record<string, string> = creds && !withheld ? { authorization: basicAuth(creds.username, creds.password) } : {};
    const dispatcher = await this.connection();
    const attempt = async (): Promise<string> => {
      const res = await request(url, { method: 'GET', headers, dispatcher, signal: this.signal, ...requestTimeouts(this.idleTimeoutMs) });
      if (res.statusCode === 401 || res.statusCode === 403) {
        await res.body.dump();
        if (withheld) throw this.realmElsewhere(url);
        throw creds ? this.loginRejected() : this.needLogin();
      }
      if (res.statusCode !== 200) throw await this.failedStatus(res);
      const body = JSON.parse((await this.readSmall(res.body, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (!token) throw new LkError('registry', `the token service ${url.origin} returned no token`);
      return token;
    };
    return withRetry(attempt, {
      policy: this.retry,
      signal: this.signal,
      giveUp: (e, attempts) => this.networkError('GET', url.toString(), e, attempts),
    });
  }

  private statusError(method: string, url: string, status: number, text: string, attempts: number): LkError {
    if (status === 401 || status === 403) return this.loginRejected(status);
    if (this.endpoint.plainHttp && /HTTP request to an HTTPS server/i.test(text)) {
      const registry = this.endpoint.registry;
      return new LkError(
        'registry',
        `${registry} speaks HTTPS, but lkbuild used plain HTTP for it`,
        `put the registry's CA certificate in $LKBUILD_CERTS_DIR/${registry}/ca.crt (or /etc/docker/certs.d/${registry}/): a certs folder makes lkbuild use HTTPS`,
      );
    }
    const detail = registryErrorMessage(text);
    const tries = attempts > 1 ? `, ${attempts} attempts` : '';
    return new LkError(
      'registry',
      `registry ${this.endpoint.registry} answered HTTP ${status} to ${method} ${this.shortUrl(url)}${detail ? ` (${detail})` : ''}${tries}`,
      status >= 500 ? 'the registry has a problem; try again later' : undefined,
    );
  }

  /** The error a request ends with once its attempts are used up (or its failure is final). */
  private networkError(method: string, what: string, e: unknown, attempts: number): LkError {
    if (e instanceof LkError) return e;
    if (e instanceof FinalStatus || e instanceof RetryableStatus) return this.statusError(method, what, e.status, e.detail, attempts);
    const code = errorCode(e);
    const registry = this.endpoint.registry;
    if (this.signal?.aborted) {
      return new LkError(
        'registry',
        `talking to ${registry} was stopped: ${String(this.signal.reason?.message ?? this.signal.reason ?? 'aborted')}`,
        'the overall time limit was reached; raise it with --timeout',
        { cause: e },
      );
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new LkError(
        'registry',
        `registry ${registry} did not answer within ${this.idleTimeoutMs / 1000}s (${method} ${redact(what)}, ${attempts} attempts)`,
        'check that the registry is up and reachable',
        { cause: e },
      );
    }
    if (code === 'ECONNREFUSED') {
      return new LkError(
        'registry',
        `cannot connect to registry ${registry} (${this.endpoint.baseUrl}): connection refused`,
        'check that the registry is running and the port is right',
        { cause: e },
      );
    }
    const reason = (e as Error)?.message ?? String(e);
    const tlsHint = /certificate|SSL|TLS|EPROTO/i.test(reason + code)
      ? `put the registry's CA certificate in $LKBUILD_CERTS_DIR/${registry}/ca.crt (or /etc/docker/certs.d/${registry}/); for a registry without TLS set LKBUILD_INSECURE_REGISTRIES=${registry}`
      : 'check the network connection to the registry';
    return new LkError('registry', `${method} ${redact(what)} failed: ${reason}${code ? ` (${code})` : ''}`, tlsHint, { cause: e });
  }

  /** A URL on the registry as its path (the message names the registry already); others whole, without the query. */
  private shortUrl(url: string): string {
    const u = new URL(url, this.endpoint.baseUrl);
    return u.origin === new URL(this.endpoint.baseUrl).origin ? u.pathname : `${u.origin}${u.pathname}`;
  }

  private realmElsewhere(realm: URL): LkError {
    const registry = this.endpoint.registry;
    return new LkError(
      'registry',
      `${registry} sends its logins to the token service ${realm.origin}, on another scheme or host than the registry: your credentials for ${registry} were not sent there, and it refused access without them`,
      `a registry's token service must use the registry's scheme and be its host, a subdomain or a parent domain of ${registry}; check the registry's auth configuration`,
    );
  }

  private needLogin(): LkError {
    return new LkError(
      'registry',
      `${this.endpoint.registry} requires authentication and no credentials were found`,
      `log in with \`docker login ${this.endpoint.registry}\` (lkbuild reads ~/.docker/config.json or $DOCKER_CONFIG)`,
    );
  }

  private loginRejected(status = 401): LkError {
    return new LkError(
      'registry',
      `${this.endpoint.registry} refused the credentials or access (HTTP ${status})`,
      `check your login for ${this.endpoint.registry} and that you may access this repository`,
    );
  }
}

/** A response status no retry will change (400, 404 where not expected...). */
class FinalStatus extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}`);
  }
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function basicAuth(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

/** Start offset of a Content-Range header ("bytes 100-199/200"), or undefined. */
function rangeStart(value: string | undefined): number | undefined {
  const m = /^bytes (\d+)-/.exec(value ?? '');
  return m ? Number(m[1]) : undefined;
}

function contentType(headers: Dispatcher.ResponseData['headers']): string | undefined {
  const v = header(headers, 'content-type')?.split(';')[0].trim();
  return v && v !== 'application/json' && v !== 'text/plain' ? v : undefined;
}

/** The first message of a distribution-spec error body, if any. */
function registryErrorMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 200) || undefined;
}

/** Upload URLs carry opaque state; keep messages short and free of it. */
function redact(url: string): string {
  return url.replace(/\?.*$/, '');
}
