import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

describe('onboot boot test', () => {
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('onboot');
    // No lk.poweroff=ready: the service `off` ends the boot with `lkctl poweroff`.
    result = await boot(base, { append: 'lk.console-logs', timeoutMs: 180_000 });
  });

  test('lkctl poweroff powers the machine off after ready, QEMU exits 0', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    const out = result.output;
    expect(tagged(out, 'CTL poweroff')).toEqual(['rc=0']);
    expect(out).toMatch(/^poweroff requested$/m); // lkctl's answer from the init
    const m = markers(out);
    expect(m.filter((x) => x.event === 'shutdown')).toHaveLength(1);
    expect(out.indexOf('lk-init: shutdown ')).toBeGreaterThan(out.indexOf('lk-init: ready '));
    expect(out).toMatch(/lk-init: service off exited code=0 restart-in=never\n/);
    expect(out.indexOf('reboot: Power down')).toBeGreaterThan(out.indexOf('lk-init: shutdown '));
    expect(out).not.toContain('reboot: Restarting system');
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
