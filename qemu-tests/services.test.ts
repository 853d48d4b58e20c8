// Boot test: supervision (backoff, restart counts), `depends`, and lkctl driven from inside the guest.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult, type Marker } from './harness.js';
import { serviceEvents, tagged } from './init-helpers.js';

const GRACE_MS = 4000;

describe('services boot test', () => {
  let result: BootResult;
  let m: Marker[];

  beforeAll(async () => {
    const base = await buildCase('services');
    result = await boot(base, { append: `lk.console-logs lk.shutdown-grace=${GRACE_MS}`, timeoutMs: 240_000 });
    m = markers(result.output);
  });

  test('lkctl reboot ends the boot (QEMU runs with -no-reboot)', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(tagged(result.output, 'CTL reboot')).toEqual(['rc=0']);
    expect(result.output).toContain('reboot: Restarting system');
  });

  test('a crashing service is restarted with growing, capped delays', () => {
    const exits = serviceEvents(result.output, 'crasher', 'exited');
    expect(exits.length).toBeGreaterThanOrEqual(5);
    expect(exits.every((x) => x.fields.code === '3')).toBe(true);
    const delays = exits.map((x) => Number(x.fields['restart-in']));
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(delays.every((d) => d <= 30_000)).toBe(true);
    // The restarts really wait: each gap between two starts is at least the announced delay.
    const starts = serviceEvents(result.output, 'crasher', 'started').map((x) => Number(x.fields.uptime));
    expect(starts.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < 5; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(delays[i - 1]! / 1000 - 0.01);
    // The crash loop does not hold up the rest: ready (every service launched) comes before its
    // fifth run, 1.5 s of backoff later (its second run may come first on a loaded machine).
    const ready = m.find((x) => x.event === 'ready')!;
    expect(Number(ready.fields.uptime)).toBeLessThan(starts[4]!);
  });

  test('the kernel takes per-CPU memory in page-sized units (kernel-config/90-percpu.config)', () => {
    expect(result.output).toMatch(/Kernel command line: percpu_alloc=page /);
    expect(result.output).toMatch(/percpu: \d+ 4K pages\/cpu /);
  });

  test('depends wins over the alphabetical order of the bundles', () => {
    const started = serviceEvents(result.output, undefined, 'started').map((x) => x.name);
    expect(started.indexOf('z-db')).toBeGreaterThanOrEqual(0);
    expect(started.indexOf('z-db')).toBeLessThan(started.indexOf('a-web'));
  });

  test('lkctl ls shows state, pid, restart count and uptime', () => {
    const ls1 = rows(tagged(result.output, 'CTL ls1'));
    expect(ls1.header).toEqual(['NAME', 'STATE', 'PID', 'RESTARTS', 'UPTIME', 'LAST-EXIT']);
    const crasher = ls1.get('crasher');
    expect(['backoff', 'running']).toContain(crasher[1]);
    expect(Number(crasher[3])).toBeGreaterThanOrEqual(4);
    expect(crasher[5]).toBe('3');
    const db = ls1.get('z-db');
    const dbStarts = serviceEvents(result.output, 'z-db', 'started');
    expect(db.slice(0, 4)).toEqual(['z-db', 'running', dbStarts[0]!.fields.pid, '0']);
    expect(db[4]).toMatch(/^\d+s$/);
    expect(ls1.get('a-web')[1]).toBe('running');
  });

  test('lkctl stop stops a service for good, lkctl start brings it back', () => {
    const stop = tagged(result.output, 'CTL stop')[0]!;
    expect(/^rc=(\d+) /.exec(stop)?.[1]).toBe('0');
    // It honoured SIGTERM: no SIGKILL after the grace period (no wall-clock bound: TCG is uneven).
    expect(result.output).not.toContain('service z-db did not stop within');
    expect(result.output).toContain('db-got-term');
    expect(result.output).toMatch(/lk-init: service z-db exited code=0 restart-in=never\n/);
    const ls2 = rows(tagged(result.output, 'CTL ls2')).get('z-db');
    expect(ls2).toEqual(['z-db', 'stopped', '-', '0', '-', '0']);

    expect(tagged(result.output, 'CTL start')).toEqual(['rc=0']);
    const dbStarts = serviceEvents(result.output, 'z-db', 'started');
    expect(dbStarts.length).toBe(2);
    expect(dbStarts[1]!.fields.pid).not.toBe(dbStarts[0]!.fields.pid);
    const ls3 = rows(tagged(result.output, 'CTL ls3')).get('z-db');
    expect(ls3.slice(0, 3)).toEqual(['z-db', 'running', dbStarts[1]!.fields.pid]);
  });

  test('lkctl logs prints the service log; unknown names fail', () => {
    const logged = tagged(result.output, 'CTL log');
    expect(logged.length).toBeGreaterThanOrEqual(5);
    expect(new Set(logged)).toEqual(new Set(['crasher-run']));
    expect(result.output).toContain('no service named no-such-service');
    expect(tagged(result.output, 'CTL bad')).toEqual(['rc=1']);
  });

  test('the reboot is clean: every service stopped on SIGTERM, none was killed', () => {
    const shutdown = m.find((x) => x.event === 'shutdown');
    expect(shutdown).toBeDefined();
    expect(result.output).not.toContain('did not stop within');
    expect(result.output).toMatch(/lk-init: service a-web exited code=0 restart-in=never\n/);
    expect(result.output.indexOf('reboot: Restarting system')).toBeGreaterThan(result.output.indexOf('lk-init: shutdown '));
  });
});

/** `lkctl ls` lines -> header and rows by name. */
function rows(lines: string[]): { header: string[]; get: (name: string) => string[] } {
  const split = lines.map((l) => l.trim().split(/\s+/));
  return {
    header: split[0]!,
    get: (name) => {
      const row = split.find((r) => r[0] === name);
      if (!row) throw new Error(`no row for ${name} in:\n${lines.join('\n')}`);
      return row;
    },
  };
}
