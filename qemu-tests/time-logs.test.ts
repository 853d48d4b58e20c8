// ntp steps a clock started in 2001 from an NTP server on the host; every service's lines and the
// init's own reach a syslog collector on the host as RFC 5424 messages.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, type BootResult } from './harness.js';
import { RFC5424, startNtpServer, startSyslogTcp, startSyslogUdp, type NtpServer, type SyslogListener } from './host-servers.js';
import { tagged } from './init-helpers.js';

/** `run qemu`'s user network: the guest's static address; the host is 10.0.2.2 to the guest. */
const GUEST_IP = 'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off';

interface Syslog5424 {
  pri: string;
  time: string;
  host: string;
  app: string;
  procid: string;
  msgid: string;
  msg: string;
}

/** Each message split by RFC 5424's grammar; the ones that do not fit are returned as `bad`. */
function parsed(messages: string[]): { good: Syslog5424[]; bad: string[] } {
  const good: Syslog5424[] = [];
  const bad: string[] = [];
  for (const m of messages) {
    const f = RFC5424.exec(m);
    if (f) good.push({ pri: f[1], time: f[2], host: f[3], app: f[4], procid: f[5], msgid: f[6], msg: f[7] ?? '' });
    else bad.push(m);
  }
  return { good, bad };
}

const texts = (all: Syslog5424[], app: string) => all.filter((m) => m.app === app).map((m) => m.msg);

describe('time and logs boot test', () => {
  let ntp: NtpServer;
  let syslog: SyslogListener;
  let result: BootResult;
  let started: number;

  beforeAll(async () => {
    const base = await buildCase('time-logs');
    ntp = await startNtpServer();
    syslog = await startSyslogUdp();
    started = Date.now();
    result = await boot(base, {
      // The clock service powers the node off once the clock is set.
      append: `${GUEST_IP} lk.syslog=udp://10.0.2.2:${syslog.port} lktest.ntp=10.0.2.2:${ntp.port} lk.console-logs`,
      qemuArgs: ['-rtc', 'base=2001-01-01T00:00:00'],
      timeoutMs: 400_000,
    });
    await new Promise((r) => setTimeout(r, 1000)); // datagrams still in flight
  });

  afterAll(async () => {
    await ntp?.close();
    await syslog?.close();
  });

  test('the node starts in 2001 and ntp steps it to the host clock', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(tagged(result.output, 'CLOCK')[0]).toBe('first-year=2001');
    const synced = Number(
      tagged(result.output, 'CLOCK')
        .find((l) => l.startsWith('synced-epoch='))
        ?.slice('synced-epoch='.length),
    );
    // Between the boot's start and now on the host, give or take the console's delay.
    expect(synced * 1000).toBeGreaterThan(started - 60_000);
    expect(synced * 1000).toBeLessThan(Date.now() + 60_000);
    expect(ntp.answered).toBeGreaterThan(0);
    // The build file's server first, then the one DHCP recorded; chrony stepped the clock.
    expect(result.output).toContain(`ntp: servers: 192.0.2.1 10.0.2.2:${ntp.port}`);
    expect(result.output).toMatch(/System clock wrong by \d+\.\d+ seconds/);
  });

  test('each service line arrives once, in order, as RFC 5424 tagged with the service', () => {
    const { good, bad } = parsed(syslog.messages);
    expect(bad).toEqual([]);
    expect(texts(good, 'talker')).toEqual(['talker line 1 of 3', 'talker line 2 of 3', 'talker line 3 of 3', 'grüße, UTF-8']);
    for (const m of good.filter((x) => x.app === 'talker')) {
      expect(m).toMatchObject({ pri: '30', procid: '-', msgid: '-' });
      expect(m.host).toMatch(/^[\w-]+$/);
    }
    // ntp's own output is forwarded under its name too.
    expect(texts(good, 'ntp').some((t) => t.startsWith('ntp: servers:'))).toBe(true);
  });

  test("the init's own lines are forwarded as lk-init, from the first one on", () => {
    const init = texts(parsed(syslog.messages).good, 'lk-init');
    expect(init[0]).toMatch(/^lk-init: start /);
    expect(init.some((t) => /^lk-init: service talker started /.test(t))).toBe(true);
    expect(init).toContain(`lk-init: remote syslog to udp://10.0.2.2:${syslog.port} (from lk.syslog)`);
  });
});

describe('remote syslog named by metadata (TCP), ntp -once onboot', () => {
  let ntp: NtpServer;
  let syslog: SyslogListener;
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('syslog-ntp-once');
    ntp = await startNtpServer();
    syslog = await startSyslogTcp();
    result = await boot(base, {
      // Power off a while after ready: the TCP connection may need a retry (2 s) to come up.
      append: `${GUEST_IP} lktest.syslog=tcp://10.0.2.2:${syslog.port} lktest.ntp=10.0.2.2:${ntp.port} lk.poweroff=ready+6`,
      qemuArgs: ['-rtc', 'base=2001-01-01T00:00:00'],
      timeoutMs: 300_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
  });

  afterAll(async () => {
    await ntp?.close();
    await syslog?.close();
  });

  test('/run/config/syslog names the collector; lines held since boot arrive over TCP', () => {
    expect(result.timedOut, result.output).toBe(false);
    const { good, bad } = parsed(syslog.messages);
    expect(bad).toEqual([]);
    expect(texts(good, 'talker')[0]).toBe('talker says hello');
    expect(texts(good, 'onboot.metadata')).toEqual(['metadata wrote /run/config/syslog']);
    expect(texts(good, 'lk-init')[0]).toMatch(/^lk-init: start /);
  });

  test('ntp -once sets the clock before the services start, and exits 0', () => {
    expect(result.output).toMatch(/^lk-init: onboot ntp exit=0 /m);
    const set = /^ntp: clock set: was 2001-01-01T\d\d:\d\d:\d\dZ, now (\d{4})-\d\d-\d\dT/m.exec(result.output);
    expect(Number(set?.[1]), result.output).toBe(new Date().getUTCFullYear());
    // The service that starts after it sees the year the host does.
    const { good } = parsed(syslog.messages);
    expect(texts(good, 'talker')[1]).toBe(`talker year=${new Date().getUTCFullYear()}`);
  });
});
