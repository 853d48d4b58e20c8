/**
 * The classic PC master boot record: boot code (bytes 0-439), a 32-bit disk signature (440),
 * two reserved bytes, four 16-byte partition entries (446) and the 0x55 0xAA signature (510).
 * Pure: no I/O.
 */

export interface MbrPartition {
  /** Active flag (0x80): the partition the MBR boot code starts. */
  bootable: boolean;
  /** Partition type, e.g. 0x0e (FAT16 LBA), 0x0c (FAT32 LBA), 0x83 (Linux). */
  type: number;
  startLba: number;
  sectors: number;
}

export interface MbrOptions {
  /** Boot code, at most 440 bytes (e.g. syslinux's mbr.bin); zeros if absent. */
  bootCode?: Uint8Array;
  diskSignature: number;
  partitions: MbrPartition[];
}

export const SECTOR = 512;

/** CHS geometry used for the legacy address fields: 255 heads, 63 sectors per track. */
const HEADS = 255;
const SECTORS_PER_TRACK = 63;

/** The 3-byte CHS address of an LBA; addresses beyond cylinder 1023 are written as the maximum (0xfe 0xff 0xff). */
export function chs(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (HEADS * SECTORS_PER_TRACK));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  const sector = (lba % SECTORS_PER_TRACK) + 1;
  return [head, ((cylinder >> 2) & 0xc0) | sector, cylinder & 0xff];
}

export function mbr(o: MbrOptions): Buffer {
  const buf = Buffer.alloc(SECTOR);
  if (o.bootCode) {
    if (o.bootCode.length > 440) throw new Error(`MBR boot code is ${o.bootCode.length} bytes; at most 440 fit`);
    buf.set(o.bootCode, 0);
  }
  if (o.partitions.length > 4) throw new Error(`an MBR holds at most 4 partitions, not ${o.partitions.length}`);
  if (o.partitions.filter((p) => p.bootable).length > 1) throw new Error('at most one MBR partition can be bootable');
  buf.writeUInt32LE(o.diskSignature >>> 0, 440);
  const sorted = [...o.partitions].sort((a, b) => a.startLba - b.startLba);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (prev.startLba + prev.sectors > sorted[i]!.startLba) throw new Error('MBR partitions overlap');
  }
  o.partitions.forEach((p, i) => {
    if (!Number.isInteger(p.startLba) || !Number.isInteger(p.sectors) || p.startLba < 1 || p.sectors < 1) {
      throw new Error(`MBR partition ${i + 1}: start ${p.startLba} and size ${p.sectors} must be positive whole sectors`);
    }
    if (p.startLba + p.sectors > 0x1_0000_0000) throw new Error(`MBR partition ${i + 1} ends beyond 2 TiB, which MBR cannot address`);
    if (!Number.isInteger(p.type) || p.type < 1 || p.type > 0xff) throw new Error(`MBR partition ${i + 1}: type ${p.type} is not 1-255`);
    const off = 446 + 16 * i;
    buf[off] = p.bootable ? 0x80 : 0x00;
    buf.set(chs(p.startLba), off + 1);
    buf[off + 4] = p.type;
    buf.set(chs(p.startLba + p.sectors - 1), off + 5);
    buf.writeUInt32LE(p.startLba, off + 8);
    buf.writeUInt32LE(p.sectors, off + 12);
  });
  buf[510] = 0x55;
  buf[511] = 0xaa;
  return buf;
}

/** Reads the partition entries back (empty entries skipped); for tests and checks. */
export function parseMbr(sector: Uint8Array): { diskSignature: number; partitions: MbrPartition[] } {
  const b = Buffer.from(sector.buffer, sector.byteOffset, sector.byteLength);
  if (b.length < SECTOR || b[510] !== 0x55 || b[511] !== 0xaa) throw new Error('not an MBR: no 0x55 0xaa signature');
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const off = 446 + 16 * i;
    const type = b[off + 4]!;
    if (type === 0) continue;
    partitions.push({ bootable: b[off] === 0x80, type, startLba: b.readUInt32LE(off + 8), sectors: b.readUInt32LE(off + 12) });
  }
  return { diskSignature: b.readUInt32LE(440), partitions };
}
