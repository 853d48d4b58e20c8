/**
 * One cloud API exchange over the builder's network stack (net/): the shared proxy-aware
 * dispatcher and the one retry rule. Each attempt is authorised afresh (a SigV4 signature
 * carries its time; a token may have been renewed), a throttling answer or a 5xx is retried
 * with back-off, and an expired credential is renewed once before the next attempt.
 */
import type { Dispatcher } from 'undici';
import { request } from '../net/undici.js';
import { LkError } from '../errors.js';
import type { NetOptions } from '../net/defaults.js';
import { createDispatcher, requestTimeouts } from '../net/dispatcher.js';
import { errorCode, isRetryableStatus, retryPolicy, RetryableStatus, withRetry } from '../net/retry.js';
import { readLimited } from '../util/read-limited.js';

export interface CloudRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface CloudResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What a service's error answers mean: each service spells throttling and expiry its own way. */
export interface ServiceRules {
  /** Names the service in messages: "EC2", "EBS", "Cloud Storage". */
  name: string;
  /** Headers that authorise this attempt (signature, bearer token). */
  authorize(req: CloudRequest): Promise<Record<string, string>>;
  /** Drops cached credentials, so the next authorize() fetches new ones. */
  renew(): void;
  isThrottled(res: CloudResponse): boolean;
  isExpired(res: CloudResponse): boolean;
  /** The service's own error text, for the message. */
  errorText(res: CloudResponse): string;
  /** What to tell the user on a final error status. */
  hint(res: CloudResponse): string;
}

export interface CallOptions extends NetOptions {
  /** Statuses that are an answer, not an error (default: 2xx). */
  accept?: (status: number) => boolean;
  /** The operation, for messages: "PutSnapshotBlock 17". */
  what: string;
  signal?: AbortSignal;
}

/** Largest response body read into memory; cloud API answers are small. */
const MAX_BODY = 16 * 1024 * 1024;

let shared: Promise<Dispatcher> | undefined;
function dispatcher(): Promise<Dispatcher> {
  shared ??= createDispatcher({ env: process.env, connections: 16 });
  return shared;
}

const readBody = (body: AsyncIterable<unknown>, what: string) =>
  readLimited(
    body,
    MAX_BODY,
    () =>
      new LkError(
        'cloud',
        `${what}: the answer is larger than ${MAX_BODY} bytes`,
        'check the endpoint: it does not answer like the cloud API',
      ),
  );

/** The service said the credentials expired: retried with fresh ones, while there are attempts left. */
export class ExpiredCredentials extends RetryableStatus {}

/**
 * One attempt: authorises, sends, reads the answer. Throws RetryableStatus for throttling, a
 * 5xx or an expired credential (after renewing it), an LkError for any other error status,
 * and undici's own errors for the network. Callers that must do more than resend between two
 * attempts (a resumable upload asks where it stands) build their own attempt from this.
 */
export async function exchange(rules: ServiceRules, req: CloudRequest, opts: CallOptions): Promise<CloudResponse> {
  const accept = opts.accept ?? ((s: number) => s >= 200 && s < 300);
  const headers = { ...req.headers, ...(await rules.authorize(req)) };
  const r = await request(req.url, {
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: req.body,
    dispatcher: await dispatcher(),
    signal: opts.signal,
    ...requestTimeouts(opts.idleTimeoutMs),
  });
  const res: CloudResponse = { status: r.statusCode, headers: r.headers, body: await readBody(r.body, opts.what) };
  if (accept(res.status)) return res;
  const retryAfter = headerValue(res.headers['retry-after']);
  if (rules.isExpired(res)) {
    rules.renew();
    throw new ExpiredCredentials(res.status, retryAfter, rules.errorText(res));
  }
  if (rules.isThrottled(res) || isRetryableStatus(res.status)) throw new RetryableStatus(res.status, retryAfter, rules.errorText(res));
  throw new LkError('cloud', `${rules.name} ${opts.what} failed: HTTP ${res.status}: ${rules.errorText(res)}`, rules.hint(res));
}

/** `op` under the one retry rule, with the cloud's message when the attempts run out. */
export function withCloudRetry<T>(
  service: string,
  what: string,
  opts: NetOptions & { signal?: AbortSignal },
  op: (attempt: number) => Promise<T>,
): Promise<T> {
  return withRetry(op, {
    policy: retryPolicy(opts.retry),
    signal: opts.signal,
    giveUp: (e, attempts) => gaveUp(service, what, e, attempts),
  });
}

export function callService(rules: ServiceRules, req: CloudRequest, opts: CallOptions): Promise<CloudResponse> {
  return withCloudRetry(rules.name, opts.what, opts, () => exchange(rules, req, opts));
}

function gaveUp(service: string, what: string, e: unknown, attempts: number): unknown {
  if (e instanceof LkError) return e;
  const times = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  if (e instanceof ExpiredCredentials) {
    return new LkError(
      'cloud',
      `${service} ${what} failed ${times}: the credentials expired: ${e.detail}`,
      'fresh credentials were not to be had: renew the session token (AWS_SESSION_TOKEN, the profile) or the key file',
    );
  }
  if (e instanceof RetryableStatus) {
    return new LkError(
      'cloud',
      `${service} ${what} failed ${times}: HTTP ${e.status}${e.detail ? `: ${e.detail}` : ''}`,
      'the service kept failing or throttling: retry later; a re-run resumes where this one stopped',
    );
  }
  const code = errorCode(e);
  const reason = e instanceof Error ? `${code && !e.message.includes(code) ? `${code} ` : ''}${e.message}` : String(e);
  return new LkError(
    'cloud',
    `${service} ${what} failed ${times}: ${reason}`,
    'check the network and the endpoint (AWS_ENDPOINT_URL*, STORAGE_EMULATOR_HOST, proxies)',
    { cause: e },
  );
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A JSON answer, or an LkError naming the operation when it is not JSON. */
export function jsonBody<T>(res: CloudResponse, what: string): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch {
    throw new LkError(
      'cloud',
      `${what}: the answer is not JSON (HTTP ${res.status})`,
      'check the endpoint: it does not answer like the cloud API',
    );
  }
}
