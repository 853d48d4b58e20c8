import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n))).toEqual([100, 200, 400, 800]);
  });

  it('is capped', () => {
    expect(backoffDelay(10)).toBe(DEFAULT_BACKOFF.maxMs);
    expect(backoffDelay(10_000)).toBe(DEFAULT_BACKOFF.maxMs);
  });

  it('is zero before any failure', () => {
    expect(backoffDelay(0)).toBe(0);
  });

  it('follows a custom policy', () => {
    expect(backoffDelay(3, { initialMs: 1000, maxMs: 3000, resetAfterMs: 1 })).toBe(3000);
  });
});
