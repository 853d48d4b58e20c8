import { createHash } from 'node:crypto';

/**
 * GUID Partition Tables (UEFI spec, chapter 5): a protective MBR, the primary header and entry
 * array at the start of the disk, their backups at the end. Pure: the structures are returned as
 * buffers for the caller to place around the partitions' contents.
 */

export const SECTOR = 512;
export const ENTRY_SIZE = 128;
export const ENTRY_COUNT = 128;
/** Sectors of one entry array: 128 entries of 128 bytes. */
export const ENTRY_SECTORS = (ENTRY_COUNT * ENTRY_SIZE) / SECTOR;
/** The EFI System Partition's type GUID. */
export const ESP_TYPE_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
/** "Linux filesystem data": the root image's partition (data and hash tree in one, which no discoverable-partitions type describes). */
export const LINUX_DATA_TYPE_GUID = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
/** Partition attribute bit 2, "legacy BIOS bootable": the partition an MBR such as syslinux's gptmbr.bin boots. */
export const LEGACY_BIOS_BOOTABLE = 1n << 2n;

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as GPT uses). */
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A GUID's on-disk form: the first three fields little-endian, the last two as written. */
export function guidBytes(guid: string): Buffer {
  if (!GUID_RE.test(guid)) throw new Error(`internal: not a GUID: ${guid}`);
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

/**
 * A deterministic GUID from a hash of `parts`: the first 16 bytes of their SHA-256, marked as an
 * RFC 9562 version 8 (custom) UUID with the RFC 4122 variant. Same parts, same GUID.
 */
export function hashGuid(...parts: Array<string | Buffer>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = Buffer.from(p);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  }
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export interface GptPartition {
  typeGuid: string;
  guid: string;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  name: string;
  attributes?: bigint;
}

export interface GptDisk {
  /** Size of the disk in 512-byte sectors. */
  sectors: number;
  diskGuid: string;
  partitions: GptPartition[];
  /** Boot code for the protective MBR's first 440 bytes (e.g. syslinux's gptmbr.bin); zeros if absent. */
  bootCode?: Uint8Array;
}

export interface GptStructures {
  /** LBA 0 up to the first usable LBA: protective MBR, primary header, primary entries. */
  head: Buffer;
  /** The last 33 sectors: backup entries, then the backup header in the disk's last sector. */
  tail: Buffer;
  firstUsableLba: number;
  lastUsableLba: number;
}

/** The protective MBR: one partition of type 0xEE covering the disk from LBA 1 (capped at 2^32-1 sectors). */
export function protectiveMbr(sectors: number, bootCode?: Uint8Array): Buffer {
  const mbr = Buffer.alloc(SECTOR);
  if (bootCode) {
    if (bootCode.length > 440) throw new Error(`internal: ${bootCode.length} bytes of MBR boot code, at most 440 fit`);
    Buffer.from(bootCode).copy(mbr, 0);
  }
  const e = 446;
  mbr[e] = 0x00; // not bootable
  mbr.writeUIntLE(0x000200, e + 1, 3); // CHS of LBA 1
  mbr[e + 4] = 0xee;
  mbr.writeUIntLE(0xffffff, e + 5, 3); // CHS: beyond what CHS can say
  mbr.writeUInt32LE(1, e + 8);
  mbr.writeUInt32LE(Math.min(sectors - 1, 0xffffffff), e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

function entryArray(partitions: GptPartition[]): Buffer {
  if (partitions.length > ENTRY_COUNT) throw new Error(`internal: ${partitions.length} partitions, GPT holds ${ENTRY_COUNT}`);
  const a = Buffer.alloc(ENTRY_COUNT * ENTRY_SIZE);
  partitions.forEach((p, i) => {
    const o = i * ENTRY_SIZE;
    guidBytes(p.typeGuid).copy(a, o);
    guidBytes(p.guid).copy(a, o + 16);
    a.writeBigUInt64LE(BigInt(p.firstLba), o + 32);
    a.writeBigUInt64LE(BigInt(p.lastLba), o + 40);
    a.writeBigUInt64LE(p.attributes ?? 0n, o + 48);
    const name = Buffer.from(p.name, 'utf16le');
    if (name.length > 72) throw new Error(`internal: partition name "${p.name}" is longer than 36 UTF-16 units`);
    name.copy(a, o + 56);
  });
  return a;
}

function header(o: {
  myLba: number;
  alternateLba: number;
  firstUsable: number;
  lastUsable: number;
  diskGuid: string;
  entriesLba: number;
  entriesCrc: number;
}): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8); // revision 1.0
  h.writeUInt32LE(92, 12); // header size
  // 16: header CRC32, computed last; 20: reserved
  h.writeBigUInt64LE(BigInt(o.myLba), 24);
  h.writeBigUInt64LE(BigInt(o.alternateLba), 32);
  h.writeBigUInt64LE(BigInt(o.firstUsable), 40);
  h.writeBigUInt64LE(BigInt(o.lastUsable), 48);
  guidBytes(o.diskGuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(o.entriesLba), 72);
  h.writeUInt32LE(ENTRY_COUNT, 80);
  h.writeUInt32LE(ENTRY_SIZE, 84);
  h.writeUInt32LE(o.entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  return h;
}

/** The protective MBR and both GPTs of a disk. Partitions must lie within the usable LBAs and not overlap. */
export function gptStructures(disk: GptDisk): GptStructures {
  const firstUsableLba = 2 + ENTRY_SECTORS;
  const last = disk.sectors - 1;
  const lastUsableLba = last - 1 - ENTRY_SECTORS;
  if (lastUsableLba < firstUsableLba) throw new Error(`internal: a ${disk.sectors}-sector disk is too small for a GPT`);
  const sorted = [...disk.partitions].sort((a, b) => a.firstLba - b.firstLba);
  sorted.forEach((p, i) => {
    if (p.firstLba < firstUsableLba || p.lastLba > lastUsableLba || p.lastLba < p.firstLba) {
      throw new Error(
        `internal: partition ${p.name} (${p.firstLba}-${p.lastLba}) is outside the usable sectors ${firstUsableLba}-${lastUsableLba}`,
      );
    }
    if (i > 0 && p.firstLba <= sorted[i - 1]!.lastLba) throw new Error(`internal: partitions ${sorted[i - 1]!.name} and ${p.name} overlap`);
  });
  const entries = entryArray(disk.partitions);
  const entriesCrc = crc32(entries);
  const common = { firstUsable: firstUsableLba, lastUsable: lastUsableLba, diskGuid: disk.diskGuid, entriesCrc };
  const primary = header({ ...common, myLba: 1, alternateLba: last, entriesLba: 2 });
  const backup = header({ ...common, myLba: last, alternateLba: 1, entriesLba: last - ENTRY_SECTORS });
  return {
    head: Buffer.concat([protectiveMbr(disk.sectors, disk.bootCode), primary, entries]),
    tail: Buffer.concat([entries, backup]),
    firstUsableLba,
    lastUsableLba,
  };
}
