import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { optionError, type Machine, type Networking, type PublishedPort } from './options.js';

/** Where the guest finds the instance metadata service, as on EC2. */
export const imdsAddress = '169.254.169.254';
/**
 * QEMU's user networking forwards a guest address only inside its own network, so with --imds
 * the guest's network is the link-local 169.254.0.0/16 (guest 169.254.0.15, gateway .2, DNS .3).
 */
export const imdsUserNet = '169.254.0.0/16';

/** QEMU's option syntax: a comma inside a value is written twice. */
export function qemuValue(text: string): string {
  return text.replace(/,/g, ',,');
}

/** Quoting for the command QEMU's guestfwd runs (GLib splits it like a shell). */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Pure: a locally administered-looking QEMU MAC (52:54:00:...) stable for one instance. */
export function instanceMac(instanceId: string): string {
  const h = createHash('sha256').update(instanceId).digest();
  return ['52', '54', '00', ...[...h.subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * Pure: QEMU's arguments for the node's one NIC (virtio-net; virtio-mmio on microvm), with the
 * published ports and, with `imdsCommand`, the metadata address forwarded to that command (QEMU
 * runs it once per connection, the connection on its stdin and stdout).
 */
export function networkArgs(o: {
  networking: Networking;
  publish: PublishedPort[];
  machine: Machine;
  mac: string;
  imdsCommand?: string[];
}): string[] {
  const n = o.networking;
  if (n.mode === 'none') return ['-nic', 'none'];
  let netdev: string;
  switch (n.mode) {
    case 'user': {
      const forwards = o.publish.map((p) => `hostfwd=${p.protocol}:${p.hostIp}:${p.hostPort}-:${p.guestPort}`);
      const imds = o.imdsCommand
        ? [`net=${imdsUserNet}`, `guestfwd=tcp:${imdsAddress}:80-cmd:${qemuValue(o.imdsCommand.map(shellQuote).join(' '))}`]
        : [];
      netdev = ['user', 'id=net0', ...imds, ...forwards].join(',');
      break;
    }
    case 'tap':
      netdev = ['tap', 'id=net0', 'script=no', 'downscript=no', ...(n.iface ? [`ifname=${n.iface}`] : [])].join(',');
      break;
    case 'bridge':
      netdev = ['bridge', 'id=net0', ...(n.bridge ? [`br=${n.bridge}`] : [])].join(',');
      break;
  }
  const device = o.machine === 'microvm' ? 'virtio-net-device' : 'virtio-net-pci';
  return ['-netdev', netdev, '-device', `${device},netdev=net0,mac=${o.mac}`];
}

/** Fails with a usage error naming --publish when a published port cannot be bound on the host. */
export async function checkPublishedPorts(ports: PublishedPort[]): Promise<void> {
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.protocol}:${p.hostIp}:${p.hostPort}`;
    if (seen.has(key)) throw optionError('--publish', `"${p.spec}": ${p.protocol} port ${p.hostPort} on ${p.hostIp} is published twice`);
    seen.add(key);
    const code = await tryBind(p);
    if (code) {
      const why =
        code === 'EADDRINUSE'
          ? 'is already in use'
          : code === 'EACCES'
            ? 'needs privileges to bind'
            : code === 'EADDRNOTAVAIL'
              ? 'is on an address this host does not have'
              : `cannot be bound (${code})`;
      throw optionError('--publish', `"${p.spec}": host ${p.protocol} port ${p.hostIp}:${p.hostPort} ${why}`);
    }
  }
}

/** Binds and releases the port; resolves with the error code, or null when it is free. */
function tryBind(p: PublishedPort): Promise<string | null> {
  return new Promise((resolve) => {
    if (p.protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.bind(p.hostPort, p.hostIp, () => s.close(() => resolve(null)));
      return;
    }
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.listen({ host: p.hostIp, port: p.hostPort, exclusive: true }, () => s.close(() => resolve(null)));
  });
}
