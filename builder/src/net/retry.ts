/**
 * The one retry rule of every HTTP client in the builder: which failures are worth another
 * attempt, how long to wait (capped exponential back-off with jitter, or the server's
 * Retry-After), and when to give up.
 */
import { setMaxListeners } from 'node:events';
import { LkError } from '../errors.js';
import { netDefaults } from './defaults.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: netDefaults.attempts,
  baseDelayMs: netDefaults.baseDelayMs,
  maxDelayMs: netDefaults.maxDelayMs,
};

/** The defaults with the caller's overrides (tests shorten the delays). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...defaultRetryPolicy, ...overrides };
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The first error code along an error's cause chain (undici nests the socket's). */
export function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e; cur; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: string }).code;
    if (code) return code;
  }
  return undefined;
}

/** Network failures worth another attempt: resets, timeouts, refused connections. Never an LkError. */
export function isRetryableError(e: unknown): boolean {
  if (e instanceof RetryableStatus) return true;
  if (e instanceof LkError) return false;
  for (let cur: unknown = e; cur; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: string }).code;
    if (code && retryableCodes.has(code)) return true;
  }
  return false;
}

/**
 * A response whose status is worth another attempt (429, 5xx...). Thrown inside an attempt;
 * `detail` is the start of the body, for the message once the attempts are used up.
 */
export class RetryableStatus extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | undefined,
    readonly detail = '',
  ) {
    super(`HTTP ${status}`);
  }
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; undefined if absent or invalid. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before the attempt after `attempt` (0-based). The server's Retry-After wins,
 * up to netDefaults.maxRetryAfterMs; otherwise exponential back-off with equal jitter, capped.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfter?: string | null, random = Math.random): number {
  const asked = retryAfterMs(retryAfter);
  if (asked !== undefined) return Math.min(asked, netDefaults.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A signal that aborts after `timeoutMs` (default: a whole transfer's bound), or with `signal`.
 * Every request of the transfer listens to it, so it takes any number of listeners (a pull of
 * several images has dozens of requests in flight; Node warns past 10).
 */
export function deadline(timeoutMs: number = netDefaults.transferTimeoutMs, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  setMaxListeners(0, combined);
  return combined;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * After attempt `attempt` (0-based) failed with `e`: waits the back-off and returns true when
 * another attempt is worth making, returns false at once when it is not (not retryable,
 * attempts used up, or aborted).
 */
export async function pauseBeforeRetry(e: unknown, attempt: number, policy: RetryPolicy, signal?: AbortSignal): Promise<boolean> {
  if (!isRetryableError(e) || attempt + 1 >= policy.attempts || signal?.aborted) return false;
  await sleep(backoffDelay(policy, attempt, e instanceof RetryableStatus ? e.retryAfter : undefined), signal);
  return true;
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal?: AbortSignal;
  /** Turns the last failure into the error the caller throws; `attempts` is how many were made. */
  giveUp?: (e: unknown, attempts: number) => unknown;
}

/** Runs `op` until it succeeds or its failure is final (see pauseBeforeRetry). */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (!(await pauseBeforeRetry(e, attempt, opts.policy, opts.signal))) throw opts.giveUp ? opts.giveUp(e, attempt + 1) : e;
    }
  }
}
