// The verified root's command line (lk.root=, lk.verity=), its dm-verity table and the GPT
// lookup of lk.root=PARTUUID=. Pure: root.ts does the I/O.

/** Data and hash blocks of the root image (the contract's fixed 4096). */
export const VERITY_BLOCK_SIZE = 4096;
const SECTOR = 512;

export type RootDevice = { kind: 'path'; path: string } | { kind: 'partuuid'; uuid: string };

export interface VerityParams {
  /** Data blocks: the padded squashfs. */
  dataBlocks: number;
  /** Where the hash tree starts, in blocks of the same device. */
  hashStartBlock: number;
  rootHash: string;
  /** Hex, or '-' for none. */
  salt: string;
}

export interface RootRequest {
  device: RootDevice;
  verity: VerityParams | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** lk.root=PARTUUID=<uuid> or lk.root=/dev/<name>. Throws naming the value. */
export function parseRootDevice(value: string): RootDevice {
  if (value.startsWith('PARTUUID=')) {
    const uuid = value.slice('PARTUUID='.length).toLowerCase();
    if (!UUID.test(uuid)) throw new Error(`lk.root=${value}: the PARTUUID is not a GUID (8-4-4-4-12 hex digits)`);
    return { kind: 'partuuid', uuid };
  }
  if (/^\/dev\/[\w.+-]+(?:\/[\w.+-]+)*$/.test(value) && !value.split('/').includes('..')) return { kind: 'path', path: value };
  throw new Error(`lk.root=${value}: expected PARTUUID=<guid> or /dev/<name>`);
}

function blockCount(what: string, text: string | undefined, value: string): number {
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw new Error(`lk.verity=${value}: ${what} "${text ?? ''}" is not a block count`);
  return Number(text);
}

/** lk.verity=<data blocks>,<hash start block>,<root hash hex>,<salt hex>. Throws naming what is wrong. */
export function parseVerity(value: string): VerityParams {
  const parts = value.split(',');
  if (parts.length !== 4) throw new Error(`lk.verity=${value}: expected <data blocks>,<hash start block>,<root hash>,<salt>`);
  const dataBlocks = blockCount('the data block count', parts[0], value);
  const hashStartBlock = blockCount('the hash start block', parts[1], value);
  const rootHash = parts[2]!.toLowerCase();
  const salt = parts[3]!.toLowerCase();
  if (dataBlocks === 0) throw new Error(`lk.verity=${value}: the root image has no data blocks`);
  if (hashStartBlock < dataBlocks)
    throw new Error(`lk.verity=${value}: the hash tree (block ${hashStartBlock}) starts inside the data (${dataBlocks} blocks)`);
  if (!/^[0-9a-f]{64}$/.test(rootHash)) throw new Error(`lk.verity=${value}: the root hash is not 64 hex digits (sha256)`);
  if (salt !== '-' && !/^(?:[0-9a-f]{2}){1,256}$/.test(salt)) throw new Error(`lk.verity=${value}: the salt is not hex bytes`);
  return { dataBlocks, hashStartBlock, rootHash, salt };
}

/** The root request of a parsed command line, or null without lk.root= (the initramfs is the root). */
export function rootRequest(words: Map<string, string>): RootRequest | null {
  const root = words.get('lk.root');
  const verity = words.get('lk.verity');
  if (root === undefined) {
    if (verity !== undefined) throw new Error('lk.verity= without lk.root=: no root device to verify');
    return null;
  }
  return { device: parseRootDevice(root), verity: verity === undefined ? null : parseVerity(verity) };
}

/** The dm-verity target over one device holding the data and, after it, the hash tree. */
export function verityTarget(device: string, p: VerityParams): { sectors: number; params: string } {
  const b = VERITY_BLOCK_SIZE;
  return {
    sectors: (p.dataBlocks * b) / SECTOR,
    params: `1 ${device} ${device} ${b} ${b} ${p.dataBlocks} ${p.hashStartBlock} sha256 ${p.rootHash} ${p.salt}`,
  };
}

/** A GPT GUID as text: the first three fields are little-endian, the rest in byte order. */
export function guidText(bytes: Uint8Array, at: number): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const slice = Array.from(bytes.subarray(at + from, at + to));
    return (reverse ? slice.reverse() : slice).map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-');
}

export interface GptHeader {
  entriesLba: number;
  entryCount: number;
  entrySize: number;
}

/** The GPT header at LBA 1 (the 92 bytes after the protective MBR), or null if `bytes` is none. */
export function parseGptHeader(bytes: Uint8Array): GptHeader | null {
  if (bytes.length < 92 || String.fromCharCode(...bytes.subarray(0, 8)) !== 'EFI PART') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entriesLba = view.getUint32(72, true) + view.getUint32(76, true) * 2 ** 32;
  const entryCount = view.getUint32(80, true);
  const entrySize = view.getUint32(84, true);
  if (entrySize < 128 || entrySize % 8 !== 0 || entryCount === 0 || entryCount > 1024) return null;
  return { entriesLba, entryCount, entrySize };
}

/** The 1-based number of the partition whose unique GUID is `uuid`, or null. */
export function gptPartitionNumber(entries: Uint8Array, header: GptHeader, uuid: string): number | null {
  for (let i = 0; i < header.entryCount && (i + 1) * header.entrySize <= entries.length; i++) {
    const at = i * header.entrySize;
    const type = entries.subarray(at, at + 16);
    if (type.every((x) => x === 0)) continue; // unused entry
    if (guidText(entries, at + 16) === uuid) return i + 1;
  }
  return null;
}
