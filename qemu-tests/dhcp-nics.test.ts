// Boot test: dhcpcd configures every ethernet NIC. A second NIC on its own QEMU user network gets
// its own lease, default route (a metric per NIC) and DNS server; resolv.conf lists both.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

describe('dhcpcd with two NICs', () => {
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('provision');
    result = await boot(base, { timeoutMs: 300_000, qemuArgs: ['-nic', 'user,model=virtio-net-pci,net=10.0.3.0/24'] });
  }, 600_000);

  test('the onboot step waits for both leases', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.output).toContain('lk-dhcp: asking for leases on eth0 eth1');
    expect(result.output).toContain('lk-dhcp: 2 interface(s) configured');
  });

  // Which NIC QEMU puts on which network depends on PCI slot order: read it from the addresses.
  test('each NIC has its address, its default route with its own metric, and its DNS server', () => {
    const addr = new Map(tagged(result.output, 'ADDR').map((l) => l.split(' ') as [string, string]));
    expect([addr.get('eth0'), addr.get('eth1')].sort()).toEqual(['10.0.2.15/24', '10.0.3.15/24']);
    const net = (nic: string) => addr.get(nic)!.split('.').slice(0, 3).join('.');
    const defaults = tagged(result.output, 'ROUTE')
      .filter((r) => r.startsWith('default'))
      .map((r) => r.split(/\s+/).filter(Boolean).join(' '));
    // ifindex 2 and 3 (lo is 1): metrics 102 and 103.
    expect(defaults.sort()).toEqual(
      [`default via ${net('eth0')}.2 dev eth0 metric 102`, `default via ${net('eth1')}.2 dev eth1 metric 103`].sort(),
    );
    expect(tagged(result.output, 'RESOLV')).toEqual([`nameserver ${net('eth0')}.3`, `nameserver ${net('eth1')}.3`]);
  });
});
