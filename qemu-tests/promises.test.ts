// Boot test of README promises, many checks in one boot (qemu-tests/cases/promises/node.yml):
// an exception in PID 1's boot path (lk.test-throw), Docker's default capabilities in /proc,
// a relative runtime mount (overlay of the host's /etc), an OOM-killed service, log rotation at
// 4 MiB, lkctl restart and logs -f, and the 10 s default shutdown grace. Numbers are the README's.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult, type Marker } from './harness.js';
import { kernelTime, serviceEvents, tagged } from './init-helpers.js';

/** README: "Service logs are in /var/log/<name>.log (rotated at 4 MiB)". */
const ROTATE_BYTES = 4 * 1024 * 1024;
/** README: "lk.shutdown-grace=<ms>, default 10 s". */
const DEFAULT_GRACE_S = 10;
/**
 * CapEff of a `docker run` container with the default capabilities, as Docker's documentation
 * lists them (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
 * NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP): bits 0,1,3-8,10,13,18,27,29,31.
 */
const DOCKER_CAPEFF = '00000000a80425fb';
const THROWS = ['hostname', 'onboot:boom', 'service:skipped'];
const SERVICES = ['caps', 'driver', 'etc-overlay', 'logger', 'oom', 'steady', 'stubborn', 'ticker'];

describe('README promises boot test', () => {
  let result: BootResult;
  let m: Marker[];
  const check = (key: string) => {
    const line = tagged(result.output, 'CHECK').find((l) => l.startsWith(`${key} `) || l.startsWith(`${key}=`));
    if (!line) throw new Error(`no CHECK ${key} in:\n${result.output}`);
    return Object.fromEntries(
      line
        .split(' ')
        .filter((w) => w.includes('='))
        .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
    );
  };

  beforeAll(async () => {
    const base = await buildCase('promises');
    // No lk.shutdown-grace: the default applies. The driver service powers the node off.
    result = await boot(base, { append: `lk.test-throw=${THROWS.join(',')}`, timeoutMs: 420_000 });
    m = markers(result.output);
  });

  test('the node powers off cleanly after the checks ran', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(tagged(result.output, 'CHECK timeout')).toEqual([]);
    expect(result.output).toContain('reboot: Power down');
  });

  test('an exception in a boot step is logged and the rest of the boot runs', () => {
    for (const what of ['hostname', 'service:skipped'])
      expect(result.output).toContain(`lk-init: error in ${what}: lk.test-throw: ${what} fails on purpose`);
    expect(result.output).toContain('lk-init: onboot boom: lk.test-throw: onboot:boom fails on purpose');
    // the remaining onboot steps, in order
    const onboot = m.filter((x) => x.event === 'onboot').map((x) => `${x.name}=${x.fields.exit}`);
    expect(onboot).toEqual(['first=0', 'boom=255', 'last=0']);
    expect(result.output).toContain('onboot-last-ran');
    expect(result.output).not.toContain('onboot-boom-ran');
    // every other service started once before ready, and the boot reached ready and shutdown
    const readyAt = result.output.indexOf('lk-init: ready ');
    expect(readyAt).toBeGreaterThan(0);
    const startedBeforeReady = serviceEvents(result.output.slice(0, readyAt), undefined, 'started').map((x) => x.name);
    expect(startedBeforeReady.sort()).toEqual(SERVICES);
    expect(serviceEvents(result.output, 'skipped')).toEqual([]);
    expect(result.output.indexOf('lk-init: shutdown ')).toBeGreaterThan(readyAt);
  });

  test("a container's CapEff is Docker's default set", () => {
    const caps = Object.fromEntries(tagged(result.output, 'CAPS').map((l) => l.split(/:\s+/)));
    expect(caps).toEqual({ CapPrm: DOCKER_CAPEFF, CapEff: DOCKER_CAPEFF, CapBnd: DOCKER_CAPEFF, CapAmb: '0000000000000000' });
  });

  test("a relative runtime mount: a writable overlay of the host's /etc inside the service", () => {
    expect(tagged(result.output, 'OVERLAY')).toEqual(['lower=from-the-host upper=written-inside']);
    // The write went to the upperdir the init created, not to the host's /etc.
    expect(check('upper')).toEqual({ upper: 'written-inside', host: 'absent', marker: 'from-the-host' });
  });

  test('an OOM-killed service is restarted by its policy; the rest of the node is untouched', () => {
    const exits = serviceEvents(result.output, 'oom', 'exited');
    expect(exits.length).toBeGreaterThanOrEqual(2);
    expect(exits.every((x) => x.fields.code === '137')).toBe(true); // 128 + SIGKILL
    expect(serviceEvents(result.output, 'oom', 'started').length).toBeGreaterThanOrEqual(exits.length);
    expect(result.output).toMatch(/Memory cgroup out of memory: Killed process \d+ \(dd\)/);
    expect(serviceEvents(result.output, 'steady', 'started')).toHaveLength(1);
    expect(serviceEvents(result.output, 'steady', 'exited').map((x) => x.fields.code)).toEqual(['0']); // at shutdown only
    const ls = tagged(result.output, 'LS').map((l) => l.trim().split(/\s+/));
    expect(ls.find((r) => r[0] === 'steady')?.slice(1, 2)).toEqual(['running']);
    expect(ls.find((r) => r[0] === 'steady')?.[3]).toBe('0');
  });

  test('the log rotates at 4 MiB and no line is lost across the rotation', () => {
    const { size1, lines, bad } = check('rotation');
    // One pump moves up to 64 KiB: the rotated file ends within one read past the limit.
    expect(Number(size1)).toBeGreaterThanOrEqual(ROTATE_BYTES);
    expect(Number(size1)).toBeLessThanOrEqual(ROTATE_BYTES + 64 * 1024);
    expect({ lines: Number(lines), bad: Number(bad) }).toEqual({ lines: 700_000, bad: 0 });
  });

  test('lkctl restart NAME and lkctl logs -f NAME', () => {
    expect(check('restart')).toEqual({ rc: '0' });
    const starts = serviceEvents(result.output, 'ticker', 'started');
    expect(starts).toHaveLength(2);
    expect(starts[1]!.fields.pid).not.toBe(starts[0]!.fields.pid);
    expect(serviceEvents(result.output, 'ticker', 'exited')[0]!.fields.code).toBe('0');
    // logs -f prints the history, then keeps streaming: it saw a line written only after the
    // history was read, from the new run (each run tags its lines with its own id).
    expect(check('follow').got).toBe('1');
    const lines = tagged(result.output, 'FOLLOW').map((l) => l.split(' '));
    const ids = [...new Set(lines.map((l) => l[1]))];
    expect(ids).toHaveLength(2);
    const latest = lines.filter((l) => l[1] === ids[1]).map((l) => Number(l[2]));
    expect(latest).toEqual(latest.map((_, i) => i + 1));
    expect(latest.length).toBeGreaterThanOrEqual(Number(check('follow').want));
  });

  test('shutdown: a service that ignores SIGTERM is killed after the default 10 s grace', () => {
    expect(result.output).toContain(`lk-init: service stubborn did not stop within ${DEFAULT_GRACE_S * 1000}ms; killing it`);
    const shutdown = Number(m.find((x) => x.event === 'shutdown')!.fields.uptime);
    const off = kernelTime(result.output, 'reboot: Power down');
    expect(off - shutdown).toBeGreaterThanOrEqual(DEFAULT_GRACE_S);
    // the others honoured SIGTERM at once
    expect(result.output).not.toMatch(/service (steady|ticker|logger) did not stop/);
  });
});
