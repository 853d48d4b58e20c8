// ntp steps a clock started in 2001 from an NTP server on the host; every service's lines and the
// init's own reach a syslog collector on the host as RFC 5424 messages.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, type BootResult } from './harness.js';
import { RFC5424, startNtpServer, startSyslogTcp, startSyslogUdp, type NtpServer, type SyslogListener } from './host-servers.js';
import { tagged } from './init-helpers.js';

/** QEMU's user network: the guest's static address, and the host as the guest sees it. */
const GUEST_IP = 'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off';
const NIC = ['-nic', 'user,model=virtio-net-pci'];

function parsed(messages: string[]) {
  return messages.map((m) => {
    const f = RFC5424.exec(m);
    return f ? { pri: f[1], time: f[2], host: f[3], app: f[4], procid: f[5], msgid: f[6], msg: f[7] } : { bad: m };
  });
}

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
      append: `${GUEST_IP} lk.syslog=udp://10.0.2.2:${syslog.port} lktest.ntp=10.0.2.2:${ntp.port} lk.console-logs`,
      qemuArgs: ['-rtc', 'base=2001-01-01T00:00:00', ...NIC],
      until: /CLOCK synced-epoch=\d+\n/,
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
    const synced = Number(tagged(result.output, 'CLOCK').find((l) => l.startsWith('synced-epoch='))?.slice('synced-epoch='.length));
    // Between the boot's start and now on the host, give or take the console's delay.
    expect(synced * 1000).toBeGreaterThan(started - 60_000);
    expect(synced * 1000).toBeLessThan(Date.now() + 60_000);
    expect(ntp.answered).toBeGreaterThan(0);
    // The build file's server first, then the one DHCP recorded; chrony stepped the clock.
    expect(result.output).toContain(`ntp: servers: 10.0.2.2:9 10.0.2.2:${ntp.port}`);
    expect(result.output).toMatch(/System clock wrong by \d+\.\d+ seconds/);
  });

  test('each service line arrives once, in order, as RFC 5424 tagged with the service', () => {
    const all = parsed(syslog.messages);
    expect(all.filter((m) => 'bad' in m)).toEqual([]);
    const talker = all.filter((m) => 'app' in m && m.app === 'talker');
    expect(talker.map((m) => 'msg' in m && m.msg)).toEqual(['talker line 1 of 3', 'talker line 2 of 3', 'talker line 3 of 3', 'grüße, UTF-8']);
    for (const m of talker) {
      expect(m).toMatchObject({ pri: '30', procid: '-', msgid: '-' });
      expect('host' in m && m.host).toMatch(/^[\w-]+$/);
    }
    // ntp's own output is forwarded under its name too.
    expect(all.some((m) => 'app' in m && m.app === 'ntp' && m.msg.startsWith('ntp: servers:'))).toBe(true);
  });

  test("the init's own lines are forwarded as lk-init, from the first one on", () => {
    const init = parsed(syslog.messages).filter((m) => 'app' in m && m.app === 'lk-init');
    expect(init[0] && 'msg' in init[0] && init[0].msg).toMatch(/^lk-init: start /);
    expect(init.some((m) => 'msg' in m && /^lk-init: service talker started /.test(m.msg))).toBe(true);
    expect(init.some((m) => 'msg' in m && m.msg === `lk-init: remote syslog to udp://10.0.2.2:${syslog.port} (from lk.syslog)`)).toBe(true);
  });
});

describe('remote syslog named by metadata (TCP)', () => {
  let syslog: SyslogListener;
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('syslog-metadata');
    syslog = await startSyslogTcp();
    result = await boot(base, {
      // Power off a while after ready: the TCP connection may need a retry (2 s) to come up.
      append: `${GUEST_IP} lktest.syslog=tcp://10.0.2.2:${syslog.port} lk.poweroff=ready+6`,
      qemuArgs: NIC,
      timeoutMs: 300_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
  });

  afterAll(() => syslog?.close());

  test('/run/config/syslog names the collector; lines held since boot arrive over TCP', () => {
    expect(result.timedOut, result.output).toBe(false);
    const all = parsed(syslog.messages);
    expect(all.filter((m) => 'bad' in m)).toEqual([]);
    expect(all.filter((m) => 'app' in m && m.app === 'talker').map((m) => 'msg' in m && m.msg)).toEqual(['talker says hello']);
    const onboot = all.filter((m) => 'app' in m && m.app === 'onboot.metadata');
    expect(onboot.map((m) => 'msg' in m && m.msg)).toEqual(['metadata wrote /run/config/syslog']);
    const init = all.filter((m) => 'app' in m && m.app === 'lk-init');
    expect(init[0] && 'msg' in init[0] && init[0].msg).toMatch(/^lk-init: start /);
  });
});
