// Boot test: orphans reaped by PID 1, runtime.json interfaces + bindNS, and the shutdown that
// SIGTERM to PID 1 starts: onshutdown first, then SIGTERM, and SIGKILL after the grace period.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult, type Marker } from './harness.js';
import { kernelTime, serviceEvents, tagged } from './init-helpers.js';

const GRACE_MS = 4000;

describe('shutdown boot test', () => {
  let result: BootResult;
  let m: Marker[];

  beforeAll(async () => {
    const base = await buildCase('shutdown');
    result = await boot(base, { append: `lk.console-logs lk.shutdown-grace=${GRACE_MS}`, timeoutMs: 240_000 });
    m = markers(result.output);
  });

  test('SIGTERM to PID 1 powers the machine off', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    const out = result.output;
    expect(out.indexOf('CHECK sigterm-to-init')).toBeGreaterThan(0);
    expect(out.indexOf('lk-init: shutdown ')).toBeGreaterThan(out.indexOf('CHECK sigterm-to-init'));
    expect(out).toContain('reboot: Power down');
  });

  test('orphans of a service are reparented to PID 1 and reaped: no zombies remain', () => {
    const orphans = result.output.split('\n').filter((l) => l.startsWith('orphan-ppid='));
    expect(orphans).toEqual(Array(10).fill('orphan-ppid=1'));
    const procs = Number(
      tagged(result.output, 'CHECK')
        .find((l) => l.startsWith('procs='))!
        .slice(6),
    );
    expect(procs).toBeGreaterThan(10); // the /proc scan saw the system
    expect(tagged(result.output, 'CHECK').filter((l) => l.startsWith('zombies='))).toEqual(['zombies=0']);
    expect(tagged(result.output, 'CHECK zombie')).toEqual([]);
  });

  test('the init stays small: VmRSS of PID 1 on an idle node', () => {
    const rss = /^VmRSS:\s+(\d+) kB$/.exec(tagged(result.output, 'CHECK').find((l) => l.startsWith('VmRSS'))!)!;
    const kb = Number(rss[1]);
    console.log(`PID 1 VmRSS on the idle shutdown node: ${kb} kB`);
    expect(kb).toBeGreaterThan(100);
    expect(kb).toBeLessThan(8 * 1024);
  });

  test('runtime.json interfaces: a veth pair, one end moved and renamed into the container', () => {
    // netjoin joined the namespace that netowner's bindNS bound to /run/netns/netowner.
    const inside = tagged(result.output, 'NETJOIN')
      .map((l) => /^(\d+): ([^:@]+)(?:@if(\d+))?:/.exec(l)!)
      .filter(Boolean);
    const eth1 = inside.find((x) => x[2] === 'eth1');
    expect(eth1, result.output).toBeDefined();
    expect(inside.map((x) => x[2]).sort()).toEqual(['eth1', 'lo']);
    const root = tagged(result.output, 'CHECK root-links')[0]!.trim().split(/\s+/);
    const peer = root.find((n) => n.startsWith('vethhost@if'));
    expect(peer, root.join(' ')).toBeDefined();
    // Each end names the other's ifindex.
    expect(peer).toBe(`vethhost@if${eth1![1]}`);
    expect(root.some((n) => n.startsWith('eth1') || n.startsWith('lk'))).toBe(false); // nothing left behind
    expect(result.output).toContain('netowner-up'); // it configured eth1 (ip link set up, ip addr add)
  });

  test('runtime.json bindNS: the namespace is bound to the path, before dependents start', () => {
    expect(tagged(result.output, 'CHECK netns')[0]).toMatch(/ \/run\/netns\/netowner$/);
    const started = serviceEvents(result.output, undefined, 'started').map((x) => x.name);
    expect(started.indexOf('netowner')).toBeLessThan(started.indexOf('netjoin'));
    expect(serviceEvents(result.output, 'netjoin', 'exited')[0]?.fields.code).toBe('0');
  });

  test('onshutdown runs first, on the console', () => {
    const out = result.output;
    const shutdownAt = out.indexOf('lk-init: shutdown ');
    expect(out.indexOf('onshutdown-marker')).toBeGreaterThan(shutdownAt);
    expect(out).toMatch(/lk-init: onshutdown bye exit=0 uptime=/);
    expect(out.indexOf('lk-init: onshutdown bye exit=0')).toBeLessThan(out.indexOf('stubborn-got-term'));
    expect(out.indexOf('onshutdown-marker')).toBeLessThan(out.indexOf('reboot: Power down'));
  });

  test('a service that ignores SIGTERM is killed after the grace period; the others stop on SIGTERM', () => {
    const out = result.output;
    expect(out.indexOf('stubborn-got-term')).toBeGreaterThan(out.indexOf('lk-init: shutdown '));
    expect(out).toContain(`lk-init: service stubborn did not stop within ${GRACE_MS}ms; killing it`);
    expect(out).toMatch(/lk-init: service stubborn exited code=137 restart-in=never\n/);
    expect(out.match(/did not stop within/g)).toHaveLength(1);
    expect(out).toMatch(/lk-init: service netowner exited code=0 restart-in=never\n/);
    const shutdownAt = Number(m.find((x) => x.event === 'shutdown')!.fields.uptime);
    const offAt = kernelTime(out, 'reboot: Power down');
    expect(offAt - shutdownAt).toBeGreaterThanOrEqual(GRACE_MS / 1000 - 0.01);
    // Not hung after the kill; generous, as onshutdown containers start slowly on a loaded TCG machine.
    expect(offAt - shutdownAt).toBeLessThan(GRACE_MS / 1000 + 60);
  });
});
