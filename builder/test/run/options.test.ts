import { describe, expect, test } from 'vitest';
import { parseDisk, parseMemory, parseNetworking, parsePublish, parseSize, parseTimeout } from '../../src/run/options.js';
import { networkArgs, instanceMac } from '../../src/run/network.js';

describe('run qemu option values', () => {
  test('sizes: K, M, G, T in powers of 1024; a bare number is MiB', () => {
    expect(parseSize('--disk', '8M')).toBe(8388608);
    expect(parseSize('--disk', '2G')).toBe(2147483648);
    expect(parseSize('--disk', '1GiB')).toBe(1073741824);
    expect(parseSize('--disk', '64')).toBe(67108864);
    expect(parseSize('--disk', '1024k')).toBe(1048576);
    expect(() => parseSize('--disk', '1.5G')).toThrow(/^--disk: "1.5G" is not a size/);
    expect(() => parseSize('--disk', '0')).toThrow(/not a positive size/);
    expect(() => parseSize('--disk', '100b')).toThrow(/"100b" is not a size/);
    expect(() => parseSize('--disk', '99999999999T')).toThrow(/not a positive size/);
  });

  test('--mem: MiB or a size; too little or not a number is an error naming --mem', () => {
    expect(parseMemory('512')).toBe(512);
    expect(parseMemory('2G')).toBe(2048);
    expect(() => parseMemory('lots')).toThrow(/^--mem: "lots"/);
    expect(() => parseMemory('16')).toThrow(/^--mem: 16 MiB is too little/);
    expect(() => parseMemory('1536K')).toThrow(/^--mem: .*whole number of MiB/);
  });

  test('--networking', () => {
    expect(parseNetworking('user')).toEqual({ mode: 'user' });
    expect(parseNetworking('none')).toEqual({ mode: 'none' });
    expect(parseNetworking('tap')).toEqual({ mode: 'tap', iface: undefined });
    expect(parseNetworking('tap,tap7')).toEqual({ mode: 'tap', iface: 'tap7' });
    expect(parseNetworking('bridge,br0')).toEqual({ mode: 'bridge', bridge: 'br0' });
    expect(() => parseNetworking('user,x')).toThrow(/^--networking: "user,x": user takes no argument/);
    expect(() => parseNetworking('tap,a b')).toThrow(/not an interface name/);
    expect(() => parseNetworking('vde')).toThrow(/^--networking: "vde"/);
  });

  test('--publish: [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp], loopback by default', () => {
    expect(parsePublish('8080:80')).toEqual({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, spec: '8080:80' });
    expect(parsePublish('0.0.0.0:5353:53/udp')).toMatchObject({ protocol: 'udp', hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53 });
    expect(() => parsePublish('80')).toThrow(/^--publish: "80" is not/);
    expect(() => parsePublish('70000:80')).toThrow(/host port "70000" is not a port/);
    expect(() => parsePublish('8080:0')).toThrow(/guest port "0" is not a port/);
    expect(() => parsePublish('8080:80/sctp')).toThrow(/protocol "sctp"/);
    expect(() => parsePublish('999.1.1.1:8080:80')).toThrow(/not an IPv4 address/);
  });

  test('--disk: FILE, size, format in any order after the file; doubled commas in names', () => {
    expect(parseDisk('a.img')).toEqual({ file: 'a.img', spec: 'a.img' });
    expect(parseDisk('a.qcow2,size=1G,format=qcow2')).toMatchObject({ file: 'a.qcow2', sizeBytes: 1073741824, format: 'qcow2' });
    expect(parseDisk('size=4G')).toEqual({ sizeBytes: 4294967296, spec: 'size=4G' });
    expect(parseDisk('a,,b.img,size=1M')).toMatchObject({ file: 'a,b.img', sizeBytes: 1048576 });
    expect(() => parseDisk('a.img,format=vdi')).toThrow(/format "vdi" is not raw or qcow2/);
    expect(() => parseDisk('a.img,b.img')).toThrow(/"b.img" is not FILE, size=SIZE or format/);
    expect(() => parseDisk('a.img,size=big')).toThrow(/^--disk: "big" is not a size/);
  });

  test('--timeout', () => {
    expect(parseTimeout('90')).toBe(90);
    expect(parseTimeout('0.5')).toBe(0.5);
    expect(() => parseTimeout('0')).toThrow(/^--timeout/);
    expect(() => parseTimeout('1m')).toThrow(/^--timeout: "1m"/);
  });
});

describe('QEMU network arguments', () => {
  const mac = '52:54:00:12:34:56';
  const publish = [parsePublish('8080:80'), parsePublish('0.0.0.0:5353:53/udp')];

  test('user networking: virtio-net with the published ports forwarded', () => {
    expect(networkArgs({ networking: { mode: 'user' }, publish, machine: 'q35', mac })).toEqual([
      '-netdev',
      'user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-:53',
      '-device',
      `virtio-net-pci,netdev=net0,mac=${mac}`,
    ]);
  });

  test('--imds: the link-local network and a guestfwd command, quoted for GLib and QEMU', () => {
    const [, netdev] = networkArgs({
      networking: { mode: 'user' },
      publish: [],
      machine: 'q35',
      mac,
      imdsCommand: ['/usr/bin/node', '/a,b/lkbuild.js', "it's"],
    });
    expect(netdev).toBe(
      `user,id=net0,net=169.254.0.0/16,guestfwd=tcp:169.254.169.254:80-cmd:'/usr/bin/node' '/a,,b/lkbuild.js' 'it'\\''s'`,
    );
  });

  test('none, tap, bridge; microvm uses virtio-mmio', () => {
    expect(networkArgs({ networking: { mode: 'none' }, publish: [], machine: 'q35', mac })).toEqual(['-nic', 'none']);
    expect(networkArgs({ networking: { mode: 'tap', iface: 'tap3' }, publish: [], machine: 'q35', mac })[1]).toBe(
      'tap,id=net0,script=no,downscript=no,ifname=tap3',
    );
    expect(networkArgs({ networking: { mode: 'bridge', bridge: 'br1' }, publish: [], machine: 'q35', mac })[1]).toBe(
      'bridge,id=net0,br=br1',
    );
    expect(networkArgs({ networking: { mode: 'user' }, publish: [], machine: 'microvm', mac })[3]).toBe(
      `virtio-net-device,netdev=net0,mac=${mac}`,
    );
  });

  test("the MAC is QEMU's prefix and stable for an instance", () => {
    expect(instanceMac('iid-0123456789abcdef')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(instanceMac('iid-0123456789abcdef')).toBe(instanceMac('iid-0123456789abcdef'));
    expect(instanceMac('iid-0123456789abcdef')).not.toBe(instanceMac('iid-fedcba9876543210'));
  });
});
