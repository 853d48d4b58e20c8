// Boot test: kernel modules loaded by the init, the hostname derived from the first NIC, and
// /etc/resolv.conf (a link to an empty /run/resolvconf/resolv.conf for a DHCP client to fill, or to
// /proc/net/pnp when ip= configured the network).
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

const E1000_MAC = '52:54:00:ab:cd:01';
const VIRTIO_MAC = '52:54:00:ab:cd:02';
const IP = 'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3';

describe('modules boot test', () => {
  let e1000: BootResult;
  let virtio: BootResult;

  beforeAll(async () => {
    const base = await buildCase('modules');
    // An e1000 NIC (a module) and no ip=; lk.modules names a module that does not exist.
    e1000 = await boot(base, {
      append: 'lk.poweroff=ready lk.debug lk.modules=nosuch',
      args: ['--networking', 'none'], // the test's own NIC is the only one
      qemuArgs: ['-netdev', 'user,id=n1', '-device', `e1000,netdev=n1,mac=${E1000_MAC}`],
      timeoutMs: 180_000,
    });
    // A virtio-net NIC (built in), configured by the kernel from ip=.
    virtio = await boot(base, {
      append: `lk.poweroff=ready lk.debug ${IP}`,
      args: ['--networking', 'none'],
      qemuArgs: ['-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${VIRTIO_MAC}`],
      timeoutMs: 180_000,
    });
  }, 400_000);

  test('both boots reach ready and power off', () => {
    for (const r of [e1000, virtio]) {
      expect(r.timedOut, r.output).toBe(false);
      expect(r.exitCode, r.output).toBe(0);
      expect(markers(r.output).map((m) => m.event)).toContain('ready');
    }
  });

  test('e1000 (for the device present) and dummy (modules-load.d) are loaded', () => {
    const mods = tagged(e1000.output, 'MOD');
    expect(mods).toContain('e1000');
    expect(mods).toContain('dummy');
    const loaded = markers(e1000.output).filter((m) => m.event === 'module' && m.fields['load-ms'] !== undefined);
    expect(loaded.map((m) => m.name).sort()).toEqual(['dummy', 'e1000']);
  });

  test('an interface is bound to the e1000 driver, and dummy0 exists', () => {
    const nets = tagged(e1000.output, 'NET');
    expect(nets).toContain(`eth0 ${E1000_MAC} driver=e1000`);
    expect(nets.some((n) => n.startsWith('dummy0 ') && n.endsWith('driver=none'))).toBe(true);
    expect(tagged(e1000.output, 'IPLINK').join('\n')).toContain(`link/ether ${E1000_MAC}`);
  });

  test('a module that cannot be found is logged, not fatal', () => {
    expect(e1000.output).toMatch(/^lk-init: module nosuch: not found in \/lib\/modules\/6\.1\.\d+$/m);
  });

  test('only modules for present devices load: no e1000 without the NIC', () => {
    const mods = tagged(virtio.output, 'MOD');
    expect(mods).toContain('dummy');
    expect(mods).not.toContain('e1000');
    expect(tagged(virtio.output, 'NET')).toContain(`eth0 ${VIRTIO_MAC} driver=virtio_net`);
  });

  test('without /etc/hostname the hostname is linuxkit-<MAC of the first NIC>', () => {
    expect(tagged(e1000.output, 'HOST')).toEqual(['linuxkit-525400abcd01']);
    expect(tagged(virtio.output, 'HOST')).toEqual(['linuxkit-525400abcd02']);
  });

  test('without ip= /etc/resolv.conf links to an empty /run/resolvconf/resolv.conf', () => {
    expect(tagged(e1000.output, 'RESOLV')).toEqual(['link=/run/resolvconf/resolv.conf']);
    expect(tagged(e1000.output, 'RESOLVCONF')).toEqual([]);
  });

  test('with ip= /etc/resolv.conf links to /proc/net/pnp and names the nameserver', () => {
    expect(tagged(virtio.output, 'RESOLV')).toEqual(['link=/proc/net/pnp']);
    expect(tagged(virtio.output, 'RESOLVCONF')).toContain('nameserver 10.0.2.3');
  });
});
