/**
 * HTTP GET for archive files over the builder's one network stack (net/): proxies, timeouts,
 * redirects and retries as every client has them. The body is handed to a consumer; if the
 * connection breaks while it reads, the whole exchange is retried, so a consumer must be
 * restartable (download.ts truncates its temp file each attempt).
 */
import type { Dispatcher } from 'undici';
import { request } from '../../net/undici.js';
import { LkError } from '../../errors.js';
import { readLimited } from '../../util/read-limited.js';
import type { NetOptions } from '../../net/defaults.js';
import { createDispatcher, requestTimeouts, responseHeader } from '../../net/dispatcher.js';
import { errorCode, isRetryableStatus, retryPolicy, RetryableStatus, withRetry } from '../../net/retry.js';

export type HttpOptions = NetOptions;

/** The server answered with an error status that retrying will not fix (404, 403...). */
export class HttpStatusError extends LkError {
  constructor(
    readonly statusCode: number,
    message: string,
    hint: string,
  ) {
    super('debian', message, hint);
  }
}

/** The server could not be reached, or kept failing, through every attempt. */
export class NetworkError extends LkError {}

let sharedDispatcher: Promise<Dispatcher> | undefined;
function dispatcher(): Promise<Dispatcher> {
  sharedDispatcher ??= createDispatcher({ env: process.env });
  return sharedDispatcher;
}

export type BodyConsumer<T> = (body: AsyncIterable<Buffer>, headers: Dispatcher.ResponseData['headers']) => Promise<T>;

/** GET `url` and pass the body to `consume`. Non-transient HTTP errors (404...) fail at once. */
export async function httpGet<T>(url: string, consume: BodyConsumer<T>, options: HttpOptions = {}): Promise<T> {
  const attempt = async (): Promise<T> => {
    const response = await request(url, { method: 'GET', dispatcher: await dispatcher(), ...requestTimeouts(options.idleTimeoutMs) });
    if (isRetryableStatus(response.statusCode)) {
      await response.body.dump();
      throw new RetryableStatus(response.statusCode, responseHeader(response.headers, 'retry-after'));
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new HttpStatusError(
        response.statusCode,
        `GET ${url} failed: HTTP ${response.statusCode}`,
        response.statusCode === 404
          ? 'the archive does not have this file; the index may have changed meanwhile: retry, or check the mirror and suite'
          : 'check the Debian mirror configuration (LKBUILD_DEBIAN_MIRROR or /etc/apt/sources.list.d)',
      );
    }
    return await consume(response.body, response.headers);
  };
  return withRetry(attempt, { policy: retryPolicy(options.retry), giveUp: (e, attempts) => unreachable(url, e, attempts) });
}

function unreachable(url: string, e: unknown, attempts: number): unknown {
  if (e instanceof LkError) return e;
  const code = errorCode(e);
  const reason = e instanceof Error ? `${code && !e.message.includes(code) ? `${code} ` : ''}${e.message}` : String(e);
  return new NetworkError(
    'debian',
    `GET ${url} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`,
    'the Debian archive is unreachable or failing: check the network, or point LKBUILD_DEBIAN_MIRROR at a reachable mirror',
    { cause: e },
  );
}

/** GET a small file into memory (InRelease). */
export function httpGetBuffer(url: string, options?: HttpOptions, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  return httpGet(
    url,
    (body) => readLimited(body, maxBytes, () => new LkError('debian', `GET ${url}: response larger than ${maxBytes} bytes`)),
    options,
  );
}
