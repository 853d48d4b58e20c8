// Capped exponential backoff for restarting services. Pure.

export interface BackoffPolicy {
  /** Delay before the first restart. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** A run at least this long counts as healthy and resets the backoff. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000 };

/** Delay before restart number `failures` (1 = first consecutive failure). */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (failures < 1) return 0;
  const exponent = Math.min(failures - 1, 30); // avoid Infinity for long crash loops
  return Math.min(policy.initialMs * 2 ** exponent, policy.maxMs);
}
