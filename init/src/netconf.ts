// Hostname and /etc/resolv.conf decisions. Pure; boot.ts does the I/O.

export interface NetInterface {
  name: string;
  ifindex: number;
  /** "aa:bb:cc:dd:ee:ff" from /sys/class/net/<name>/address. */
  mac: string;
  /** ARPHRD type from /sys/class/net/<name>/type (772 is loopback). */
  type: number;
  /** Backed by a device (/sys/class/net/<name>/device exists): a NIC, not a virtual link. */
  hasDevice: boolean;
}

const ARPHRD_LOOPBACK = 772;
export const DEFAULT_HOSTNAME = 'linuxkit';

/** The interface whose MAC names the node: the first (by ifindex) NIC, else the first other link with a MAC. */
export function hostnameInterface(interfaces: NetInterface[]): NetInterface | undefined {
  const usable = interfaces
    .filter((i) => i.type !== ARPHRD_LOOPBACK && i.name !== 'lo' && /^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(i.mac) && /[1-9a-f]/i.test(i.mac))
    .sort((a, b) => a.ifindex - b.ifindex);
  return usable.find((i) => i.hasDevice) ?? usable[0];
}

/**
 * /etc/hostname (first line, trimmed) if it names anything; else, as LinuxKit does,
 * "linuxkit-" and the MAC's hex digits in lower case without colons; else "linuxkit".
 */
export function chooseHostname(etcHostname: string | null, interfaces: NetInterface[]): string {
  const fromFile = (etcHostname ?? '').split('\n')[0]!.trim();
  if (fromFile !== '') return fromFile;
  const nic = hostnameInterface(interfaces);
  return nic ? `${DEFAULT_HOSTNAME}-${nic.mac.toLowerCase().replace(/:/g, '')}` : DEFAULT_HOSTNAME;
}

/** True when ip= asks the kernel to configure the network (anything but off/none). */
export function kernelConfiguresNetwork(ipOption: string | undefined): boolean {
  return ipOption !== undefined && ipOption !== '' && ipOption !== 'off' && ipOption !== 'none';
}

export type ResolvConfAction =
  | { kind: 'keep' }
  | { kind: 'link-pnp' }
  | { kind: 'link-resolvconf'; target: string }
  | { kind: 'create-empty'; path: string };

export interface ResolvConfState {
  /** lstat of /etc/resolv.conf: absent, a symlink (with its target, and whether that exists), or anything else. */
  etc: { kind: 'absent' } | { kind: 'symlink'; target: string; targetExists: boolean } | { kind: 'other' };
  /** The value of ip= on the kernel command line. */
  ipOption: string | undefined;
  /** /proc/net/pnp exists (CONFIG_IP_PNP). */
  pnpExists: boolean;
}

/** The file the dhcpcd image writes; /etc/resolv.conf links to it, as on LinuxKit. */
export const RESOLVCONF_TARGET = '/run/resolvconf/resolv.conf';

/**
 * An existing /etc/resolv.conf stays; a dangling symlink gets its target created empty (as
 * LinuxKit does, for containers that write it). Otherwise a link to /proc/net/pnp if the
 * kernel configured the network from ip=, or else a link to an empty
 * /run/resolvconf/resolv.conf that a DHCP client fills in, so that services can bind it.
 */
export function resolvConfAction(s: ResolvConfState): ResolvConfAction {
  if (s.etc.kind === 'other') return { kind: 'keep' };
  if (s.etc.kind === 'symlink') {
    if (s.etc.targetExists) return { kind: 'keep' };
    const target = s.etc.target.startsWith('/') ? s.etc.target : `/etc/${s.etc.target}`;
    return { kind: 'create-empty', path: target };
  }
  if (kernelConfiguresNetwork(s.ipOption) && s.pnpExists) return { kind: 'link-pnp' };
  return { kind: 'link-resolvconf', target: RESOLVCONF_TARGET };
}
