/**
 * HTTP GET for archive files: timeouts, redirects, and a bounded retry with exponential backoff
 * on what is likely transient (5xx, 429, connection resets and timeouts). The body is handed to
 * a consumer; if the connection breaks while it reads, the whole exchange is retried, so a
 * consumer must be restartable (download.ts truncates its temp file each attempt).
 */
import { Agent, EnvHttpProxyAgent, interceptors, request, type Dispatcher } from 'undici';
import { LkError } from '../../errors.js';

export interface HttpOptions {
  /** Total attempts, first included. */
  attempts?: number;
  /** Delay before the first retry; doubles each time. */
  backoffMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

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

const DEFAULTS: Required<HttpOptions> = { attempts: 4, backoffMs: 250, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000 };

let sharedDispatcher: Dispatcher | undefined;
function dispatcher(): Dispatcher {
  if (!sharedDispatcher) {
    const options = { connectTimeout: 15_000, keepAliveTimeout: 10_000 };
    // Honour http_proxy/https_proxy/no_proxy like apt users expect; connect directly otherwise.
    const proxied = ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'].some((name) => process.env[name]);
    const base = proxied ? new EnvHttpProxyAgent(options) : new Agent(options);
    sharedDispatcher = base.compose(interceptors.redirect({ maxRedirections: 5 }));
  }
  return sharedDispatcher;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** An HTTP status worth retrying; carried through the retry loop as an error. */
class TransientStatus extends Error {
  constructor(readonly statusCode: number) {
    super(`HTTP ${statusCode}`);
  }
}

function isTransient(e: unknown): boolean {
  if (e instanceof TransientStatus) return true;
  if (e instanceof LkError) return false;
  const code = (e as { code?: string } | undefined)?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type BodyConsumer<T> = (body: AsyncIterable<Buffer>, headers: Dispatcher.ResponseData['headers']) => Promise<T>;

/** GET `url` and pass the body to `consume`. Non-transient HTTP errors (404...) fail at once. */
export async function httpGet<T>(url: string, consume: BodyConsumer<T>, options: HttpOptions = {}): Promise<T> {
  const o = { ...DEFAULTS, ...options };
  let lastError: unknown;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    if (attempt > 1) await sleep(o.backoffMs * 2 ** (attempt - 2));
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher: dispatcher(),
        headersTimeout: o.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs,
      });
      if (response.statusCode >= 500 || response.statusCode === 429) {
        await response.body.dump();
        throw new TransientStatus(response.statusCode);
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new HttpStatusError(
          response.statusCode,
          `GET ${url} failed: HTTP ${response.statusCode}`,
          response.statusCode === 404
            ? 'The archive does not have this file; the index may have changed meanwhile: retry, or check the mirror and suite.'
            : 'Check the Debian mirror configuration (LKBUILD_DEBIAN_MIRROR or /etc/apt/sources.list.d).',
        );
      }
      return await consume(response.body, response.headers);
    } catch (e) {
      if (!isTransient(e)) throw e;
      lastError = e;
    }
  }
  const reason = lastError instanceof Error ? `${(lastError as { code?: string }).code ?? ''} ${lastError.message}`.trim() : String(lastError);
  throw new NetworkError(
    'debian',
    `GET ${url} failed after ${o.attempts} attempts: ${reason}`,
    'The Debian archive is unreachable or failing. Check the network, or point LKBUILD_DEBIAN_MIRROR at a reachable mirror.',
    { cause: lastError },
  );
}

/** GET a small file into memory (InRelease). */
export function httpGetBuffer(url: string, options?: HttpOptions, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  return httpGet(
    url,
    async (body) => {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body) {
        total += chunk.length;
        if (total > maxBytes) throw new LkError('debian', `GET ${url}: response larger than ${maxBytes} bytes`);
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    },
    options,
  );
}
