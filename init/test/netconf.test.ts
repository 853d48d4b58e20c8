import { describe, expect, it } from 'vitest';
import { chooseHostname, hostnameInterface, kernelConfiguresNetwork, resolvConfAction, type NetInterface } from '../src/netconf.js';

const lo: NetInterface = { name: 'lo', ifindex: 1, mac: '00:00:00:00:00:00', type: 772, hasDevice: false };
const dummy: NetInterface = { name: 'dummy0', ifindex: 2, mac: 'aa:0b:33:4f:10:02', type: 1, hasDevice: false };
const eth0: NetInterface = { name: 'eth0', ifindex: 3, mac: '52:54:00:12:34:56', type: 1, hasDevice: true };
const eth1: NetInterface = { name: 'eth1', ifindex: 4, mac: '52:54:00:AB:CD:EF', type: 1, hasDevice: true };

describe('chooseHostname', () => {
  it('uses /etc/hostname when it names something', () => {
    expect(chooseHostname('node-7\n', [lo, eth0])).toBe('node-7');
    expect(chooseHostname('  spaced  \nsecond line\n', [])).toBe('spaced');
  });

  it('otherwise derives linuxkit-<mac hex> from the first NIC, as LinuxKit does', () => {
    expect(chooseHostname(null, [lo, eth0])).toBe('linuxkit-525400123456');
    expect(chooseHostname('\n', [eth1, lo, eth0])).toBe('linuxkit-525400123456');
    expect(chooseHostname(null, [lo, eth1])).toBe('linuxkit-525400abcdef');
  });

  it('prefers a NIC to a virtual link that came first', () => {
    expect(hostnameInterface([lo, dummy, eth0])?.name).toBe('eth0');
    expect(chooseHostname(null, [lo, dummy])).toBe('linuxkit-aa0b334f1002');
  });

  it('falls back to linuxkit without a usable interface', () => {
    expect(chooseHostname(null, [lo])).toBe('linuxkit');
    expect(chooseHostname('', [])).toBe('linuxkit');
    expect(
      chooseHostname(null, [
        { ...eth0, mac: '00:00:00:00:00:00' },
        { ...eth1, mac: '' },
      ]),
    ).toBe('linuxkit');
  });
});

describe('resolvConfAction', () => {
  const absent = { kind: 'absent' } as const;

  it('links /proc/net/pnp when the kernel configured the network from ip=', () => {
    expect(resolvConfAction({ etc: absent, ipOption: '10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3', pnpExists: true })).toEqual({
      kind: 'link-pnp',
    });
  });

  it("links the DHCP client's /run/resolvconf/resolv.conf without ip=, with ip=off, or without /proc/net/pnp", () => {
    const empty = { kind: 'link-resolvconf', target: '/run/resolvconf/resolv.conf' };
    expect(resolvConfAction({ etc: absent, ipOption: undefined, pnpExists: true })).toEqual(empty);
    expect(resolvConfAction({ etc: absent, ipOption: 'off', pnpExists: true })).toEqual(empty);
    expect(resolvConfAction({ etc: absent, ipOption: '10.0.2.15', pnpExists: false })).toEqual(empty);
  });

  it('keeps an existing file or a symlink that resolves', () => {
    expect(resolvConfAction({ etc: { kind: 'other' }, ipOption: 'dhcp', pnpExists: true })).toEqual({ kind: 'keep' });
    expect(
      resolvConfAction({ etc: { kind: 'symlink', target: '/proc/net/pnp', targetExists: true }, ipOption: undefined, pnpExists: true }),
    ).toEqual({
      kind: 'keep',
    });
  });

  it('creates the target of a dangling symlink', () => {
    expect(
      resolvConfAction({
        etc: { kind: 'symlink', target: '/run/resolvconf/resolv.conf', targetExists: false },
        ipOption: undefined,
        pnpExists: false,
      }),
    ).toEqual({
      kind: 'create-empty',
      path: '/run/resolvconf/resolv.conf',
    });
    expect(
      resolvConfAction({ etc: { kind: 'symlink', target: '../run/r.conf', targetExists: false }, ipOption: undefined, pnpExists: false }),
    ).toEqual({
      kind: 'create-empty',
      path: '/etc/../run/r.conf',
    });
  });

  it('reads ip= like the kernel: off and none disable it', () => {
    expect(kernelConfiguresNetwork('dhcp')).toBe(true);
    expect(kernelConfiguresNetwork('none')).toBe(false);
    expect(kernelConfiguresNetwork('')).toBe(false);
    expect(kernelConfiguresNetwork(undefined)).toBe(false);
  });
});
