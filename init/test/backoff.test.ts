import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js';
import { Supervisor } from '../src/supervisor.js';

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

  it("is the README's: from 100 ms, doubling, capped at 30 s, as the init's supervisor applies it", () => {
    const s = new Supervisor(); // the init's defaults
    s.add('crasher', 'always');
    const delays: number[] = [];
    for (let i = 0, now = 0; i < 12; i++, now += 10) {
      s.started('crasher', 100 + i, now);
      const d = s.exited('crasher', 1, now + 1); // a crash right after the start
      if (d.restart) delays.push(d.delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
  });
});
