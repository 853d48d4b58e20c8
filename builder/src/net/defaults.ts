import type { RetryPolicy } from './retry.js';

/**
 * The network defaults, for registries and the Debian archive alike. The README's
 * "Network" section states these numbers; change them together.
 */
export const netDefaults = {
  /** Attempts per request in total, the first included. */
  attempts: 5,
  /** Wait before the first retry; doubles each time (with jitter) up to maxDelayMs. */
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  /** The longest Retry-After (429/503) that is waited out as asked; longer ones are cut to this. */
  maxRetryAfterMs: 60_000,
  /** Silence after which an attempt fails: connecting, waiting for headers, or between two body chunks. */
  idleTimeoutMs: 30_000,
  /** The bound on a whole pull or push (`--timeout`). */
  transferTimeoutMs: 600_000,
} as const;

/** What a caller may change of the defaults (tests shorten delays and timeouts). */
export interface NetOptions {
  retry?: Partial<RetryPolicy>;
  idleTimeoutMs?: number;
}
