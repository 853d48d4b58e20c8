import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';

describe('onboot boot test', () => {
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('onboot');
    result = await boot(base, { timeoutMs: 180_000 });
  });

  test('the machine powers itself off after ready', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
  });

  test('onboot containers run in order, in their own pid namespace, with their exit codes reported', () => {
    const m = markers(result.output);
    const onboot = m.filter((x) => x.event === 'onboot');
    expect(onboot.map((x) => [x.name, x.fields.exit])).toEqual([
      ['first', '0'],
      ['failing', '3'],
    ]);
    // The container is pid 1 of a new pid namespace and printed before its marker.
    expect(result.output).toMatch(/onboot-marker-first pid=1 /);
    expect(result.output.indexOf('onboot-marker-first')).toBeLessThan(result.output.indexOf('lk-init: onboot first'));
    expect(result.output).toContain('onboot-marker-failing');
  });

  test('init prints start, ready and shutdown with increasing uptimes', () => {
    const m = markers(result.output);
    const events = m.map((x) => x.event);
    expect(events[0]).toBe('start');
    expect(events).toContain('ready');
    expect(events.indexOf('ready')).toBeGreaterThan(events.lastIndexOf('onboot'));
    expect(events.indexOf('shutdown')).toBeGreaterThan(events.indexOf('ready'));
    const uptimes = m.filter((x) => x.fields.uptime).map((x) => Number(x.fields.uptime));
    expect(uptimes.every((u) => Number.isFinite(u) && u > 0)).toBe(true);
    expect([...uptimes].sort((a, b) => a - b)).toEqual(uptimes);
  });
});
