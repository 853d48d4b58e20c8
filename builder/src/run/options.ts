import { usageError, type LkError } from '../errors.js';

/**
 * The options of `lkbuild run qemu`, parsed from their command-line spelling. Pure: nothing here
 * touches the host. A bad value is an LkError of kind 'usage' whose message starts with the option.
 */

export type Networking = { mode: 'user' } | { mode: 'none' } | { mode: 'tap'; iface?: string } | { mode: 'bridge'; bridge?: string };

export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestPort: number;
  /** As the user wrote it, for messages. */
  spec: string;
}

export interface DiskSpec {
  /** Undefined: the state directory's diskN file. */
  file?: string;
  sizeBytes?: number;
  format?: 'raw' | 'qcow2';
  spec: string;
}

export type Machine = 'q35' | 'microvm';

/** A usage error about one option: the message starts with the option's name. */
export function optionError(option: string, message: string): LkError {
  return usageError(`${option}: ${message}`);
}

const sizeUnits: Record<string, number> = { '': 1024 ** 2, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size such as 512M, 4G, 1T, 1024K or 2GiB (powers of 1024; a bare number is MiB), in bytes. */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+)(?:([kmgt])(?:i?b)?)?$/i.exec(text.trim());
  if (!m) throw optionError(option, `"${text}" is not a size (a number with K, M, G or T; a bare number is MiB)`);
  const bytes = Number(m[1]) * sizeUnits[(m[2] ?? '').toLowerCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw optionError(option, `"${text}" is not a positive size`);
  return bytes;
}

/** --mem: MiB, or a size with a unit (2G). */
export function parseMemory(text: string): number {
  const bytes = parseSize('--mem', text);
  if (bytes % 1024 ** 2 !== 0) throw optionError('--mem', `"${text}" is not a whole number of MiB`);
  const mib = bytes / 1024 ** 2;
  if (mib < 32) throw optionError('--mem', `${mib} MiB is too little for a node (at least 32)`);
  return mib;
}

/** A whole number in [min, max]. */
export function parseCount(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw optionError(option, `"${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw optionError(option, `${n} is out of range (${min}-${max})`);
  return n;
}

const ifaceName = /^[A-Za-z0-9_.:-]{1,15}$/;

export function parseNetworking(text: string): Networking {
  const [mode, arg, ...rest] = text.split(',');
  const bad = (why: string) => optionError('--networking', `"${text}": ${why}`);
  if (rest.length > 0) throw bad('expected user, none, tap[,IFACE] or bridge[,BRIDGE]');
  if (arg !== undefined && !ifaceName.test(arg)) throw bad(`"${arg}" is not an interface name`);
  switch (mode) {
    case 'user':
    case 'none':
      if (arg !== undefined) throw bad(`${mode} takes no argument`);
      return { mode };
    case 'tap':
      return { mode, iface: arg };
    case 'bridge':
      return { mode, bridge: arg };
    default:
      throw bad('expected user, none, tap[,IFACE] or bridge[,BRIDGE]');
  }
}

function port(text: string, spec: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw optionError('--publish', `"${spec}": ${what} "${text}" is not a port (1-65535)`);
  }
  return Number(text);
}

/** [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]; the host address defaults to 127.0.0.1. */
export function parsePublish(spec: string): PublishedPort {
  const m = /^(?:(.+):)?([^:/]+):([^:/]+)(?:\/(.*))?$/.exec(spec);
  if (!m) throw optionError('--publish', `"${spec}" is not [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]`);
  const [, ip, host, guest, proto] = m;
  if (proto !== undefined && proto !== 'tcp' && proto !== 'udp')
    throw optionError('--publish', `"${spec}": protocol "${proto}" is not tcp or udp`);
  const hostIp = ip?.replace(/^\[(.*)\]$/, '$1') ?? '127.0.0.1';
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp) || hostIp.split('.').some((o) => Number(o) > 255)) {
    throw optionError('--publish', `"${spec}": "${hostIp}" is not an IPv4 address (QEMU's user networking forwards IPv4)`);
  }
  return {
    protocol: (proto ?? 'tcp') as 'tcp' | 'udp',
    hostIp,
    hostPort: port(host!, spec, 'host port'),
    guestPort: port(guest!, spec, 'guest port'),
    spec,
  };
}

/** [FILE][,size=SIZE][,format=raw|qcow2]: a comma in FILE is written twice, as QEMU does. */
export function parseDisk(spec: string): DiskSpec {
  const parts = spec.split(/(?<!,),(?!,)/).map((p) => p.replace(/,,/g, ','));
  const disk: DiskSpec = { spec };
  parts.forEach((part, i) => {
    const kv = /^(size|format)=(.*)$/.exec(part);
    if (!kv) {
      if (i !== 0 || part === '') throw optionError('--disk', `"${spec}": "${part}" is not FILE, size=SIZE or format=raw|qcow2`);
      disk.file = part;
    } else if (kv[1] === 'size') disk.sizeBytes = parseSize('--disk', kv[2]!);
    else if (kv[2] === 'raw' || kv[2] === 'qcow2') disk.format = kv[2];
    else throw optionError('--disk', `"${spec}": format "${kv[2]}" is not raw or qcow2`);
  });
  return disk;
}

export function parseMachine(text: string): Machine {
  if (text !== 'q35' && text !== 'microvm') throw optionError('--machine', `"${text}" is not q35 or microvm`);
  return text;
}

export function parseTimeout(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || Number(text) <= 0) throw optionError('--timeout', `"${text}" is not a number of seconds`);
  return Number(text);
}
