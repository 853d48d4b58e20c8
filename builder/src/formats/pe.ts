import { LkError } from '../errors.js';

/**
 * Just enough of the PE/COFF format (PE32+) to append data sections to an EFI stub: read the
 * section table, place new sections after the last one, rewrite the headers and compute the
 * image checksum. Pure: buffers in, buffers and numbers out.
 */

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export interface PeImage {
  /** Offset of the "PE\0\0" signature (e_lfanew). */
  peOffset: number;
  /** Offset of the optional header. */
  optOffset: number;
  sectionTableOffset: number;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfHeaders: number;
  sizeOfImage: number;
  checksum: number;
  timestamp: number;
  sections: PeSection[];
  /** Number of data directories in the optional header. */
  dataDirectories: number;
}

const PE32PLUS = 0x20b;
const SECTION_HEADER = 40;
/** IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: read-only data, as UKI sections are. */
export const DATA_READONLY = 0x40000040;

// Offsets inside the PE32+ optional header.
const OPT_SIZE_OF_INITIALIZED_DATA = 8;
const OPT_SECTION_ALIGNMENT = 32;
const OPT_FILE_ALIGNMENT = 36;
const OPT_SIZE_OF_IMAGE = 56;
const OPT_SIZE_OF_HEADERS = 60;
export const OPT_CHECKSUM = 64;
const OPT_NUMBER_OF_RVA_AND_SIZES = 108;
const OPT_DATA_DIRECTORIES = 112;
const DIR_SECURITY = 4;
const DIR_DEBUG = 6;

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function bad(what: string): LkError {
  return new LkError('format', `the EFI stub is not a usable PE32+ image: ${what}`, 'reinstall the Debian package systemd-boot-efi');
}

export function parsePe(buf: Buffer): PeImage {
  if (buf.length < 0x40 || buf.toString('latin1', 0, 2) !== 'MZ') throw bad('no MZ header');
  const peOffset = buf.readUInt32LE(0x3c);
  if (peOffset + 24 > buf.length || buf.toString('latin1', peOffset, peOffset + 4) !== 'PE\0\0') throw bad('no PE signature');
  const numberOfSections = buf.readUInt16LE(peOffset + 6);
  const timestamp = buf.readUInt32LE(peOffset + 8);
  const sizeOfOptionalHeader = buf.readUInt16LE(peOffset + 20);
  const optOffset = peOffset + 24;
  if (buf.readUInt16LE(optOffset) !== PE32PLUS) throw bad('not PE32+');
  const sectionTableOffset = optOffset + sizeOfOptionalHeader;
  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const o = sectionTableOffset + i * SECTION_HEADER;
    if (o + SECTION_HEADER > buf.length) throw bad('truncated section table');
    sections.push({
      name: buf.toString('latin1', o, o + 8).replace(/\0+$/, ''),
      virtualSize: buf.readUInt32LE(o + 8),
      virtualAddress: buf.readUInt32LE(o + 12),
      sizeOfRawData: buf.readUInt32LE(o + 16),
      pointerToRawData: buf.readUInt32LE(o + 20),
      characteristics: buf.readUInt32LE(o + 36),
    });
  }
  return {
    peOffset,
    optOffset,
    sectionTableOffset,
    sectionAlignment: buf.readUInt32LE(optOffset + OPT_SECTION_ALIGNMENT),
    fileAlignment: buf.readUInt32LE(optOffset + OPT_FILE_ALIGNMENT),
    sizeOfHeaders: buf.readUInt32LE(optOffset + OPT_SIZE_OF_HEADERS),
    sizeOfImage: buf.readUInt32LE(optOffset + OPT_SIZE_OF_IMAGE),
    checksum: buf.readUInt32LE(optOffset + OPT_CHECKSUM),
    timestamp,
    sections,
    dataDirectories: buf.readUInt32LE(optOffset + OPT_NUMBER_OF_RVA_AND_SIZES),
  };
}

export interface NewSection {
  /** At most 8 bytes, e.g. ".linux". */
  name: string;
  size: number;
}

export interface PlacedSection extends NewSection {
  virtualAddress: number;
  pointerToRawData: number;
  sizeOfRawData: number;
}

export interface AppendedLayout {
  /** Everything before the first new section: headers and the stub's own sections, checksum field zero. */
  prefix: Buffer;
  sections: PlacedSection[];
  /** Total file size: the prefix, then each section's data padded to the file alignment. */
  fileSize: number;
  /** File offset of the optional header's CheckSum field. */
  checksumOffset: number;
}

/**
 * Lays out `stub` with `added` data sections appended: each new section starts on a page (4 KiB,
 * or the stub's section alignment if larger) after the end of the one before, so none overlaps
 * the stub's sections or another; in the file each starts at a multiple of the file alignment.
 * The COFF timestamp becomes `timestamp`; the checksum field is left zero (see peChecksum).
 * If the header area has no room for the new section headers it grows and the stub's sections
 * move down in the file (their addresses in memory stay the same).
 */
export function appendSections(stub: Buffer, added: NewSection[], timestamp: number): AppendedLayout {
  const pe = parsePe(stub);
  const { fileAlignment, sectionAlignment } = pe;
  if (!fileAlignment || !sectionAlignment) throw bad('zero alignment');
  for (const d of [DIR_SECURITY, DIR_DEBUG]) {
    if (d < pe.dataDirectories && stub.readUInt32LE(pe.optOffset + OPT_DATA_DIRECTORIES + 8 * d + 4) !== 0) {
      throw bad(
        d === DIR_SECURITY ? 'it is already signed (sign the UKI, not the stub)' : 'it has a debug directory, which holds file offsets',
      );
    }
  }
  for (const s of added)
    if (Buffer.byteLength(s.name, 'latin1') > 8) throw new Error(`internal: PE section name ${s.name} is longer than 8 bytes`);
  const stubDataEnd = Math.max(pe.sizeOfHeaders, ...pe.sections.map((s) => s.pointerToRawData + s.sizeOfRawData));
  if (stubDataEnd > stub.length) throw bad('a section lies past the end of the file');

  const tableEnd = pe.sectionTableOffset + (pe.sections.length + added.length) * SECTION_HEADER;
  const sizeOfHeaders = Math.max(pe.sizeOfHeaders, alignUp(tableEnd, fileAlignment));
  const shift = sizeOfHeaders - pe.sizeOfHeaders;

  const page = Math.max(4096, sectionAlignment);
  let va = pe.sections.reduce((end, s) => Math.max(end, s.virtualAddress + Math.max(s.virtualSize, s.sizeOfRawData)), pe.sizeOfImage);
  let fileOffset = alignUp(stubDataEnd + shift, fileAlignment);
  const sections: PlacedSection[] = [];
  for (const s of added) {
    va = alignUp(va, page);
    const sizeOfRawData = alignUp(s.size, fileAlignment);
    sections.push({ ...s, virtualAddress: va, pointerToRawData: fileOffset, sizeOfRawData });
    va += s.size;
    fileOffset += sizeOfRawData;
  }
  if (fileOffset > 0xffffffff || va > 0xffffffff)
    throw new LkError('format', `the UKI would be ${fileOffset} bytes: PE images are limited to 4 GiB`);

  const prefix = Buffer.alloc(alignUp(stubDataEnd + shift, fileAlignment));
  stub.copy(prefix, 0, 0, pe.sizeOfHeaders);
  stub.copy(prefix, sizeOfHeaders, pe.sizeOfHeaders, stubDataEnd);
  const opt = pe.optOffset;
  prefix.writeUInt16LE(pe.sections.length + added.length, pe.peOffset + 6);
  prefix.writeUInt32LE(timestamp >>> 0, pe.peOffset + 8);
  const initialized = prefix.readUInt32LE(opt + OPT_SIZE_OF_INITIALIZED_DATA) + sections.reduce((n, s) => n + s.sizeOfRawData, 0);
  prefix.writeUInt32LE(initialized >>> 0, opt + OPT_SIZE_OF_INITIALIZED_DATA);
  prefix.writeUInt32LE(alignUp(va, sectionAlignment), opt + OPT_SIZE_OF_IMAGE);
  prefix.writeUInt32LE(sizeOfHeaders, opt + OPT_SIZE_OF_HEADERS);
  prefix.writeUInt32LE(0, opt + OPT_CHECKSUM);
  if (shift) {
    pe.sections.forEach((s, i) => {
      if (s.pointerToRawData) prefix.writeUInt32LE(s.pointerToRawData + shift, pe.sectionTableOffset + i * SECTION_HEADER + 20);
    });
  }
  sections.forEach((s, i) => {
    const o = pe.sectionTableOffset + (pe.sections.length + i) * SECTION_HEADER;
    prefix.fill(0, o, o + SECTION_HEADER);
    prefix.write(s.name, o, 8, 'latin1');
    prefix.writeUInt32LE(s.size, o + 8);
    prefix.writeUInt32LE(s.virtualAddress, o + 12);
    prefix.writeUInt32LE(s.sizeOfRawData, o + 16);
    prefix.writeUInt32LE(s.pointerToRawData, o + 20);
    prefix.writeUInt32LE(DATA_READONLY, o + 36);
  });
  return { prefix, sections, fileSize: fileOffset, checksumOffset: opt + OPT_CHECKSUM };
}

/**
 * The PE image checksum, fed in pieces: the file's 16-bit little-endian words summed with the
 * carries folded back in, plus the file length. The CheckSum field itself must be fed as zeros.
 * Pieces may have odd lengths; they are joined as one byte stream.
 */
export class PeChecksum {
  private sum = 0;
  private length = 0;
  private odd: number | null = null;

  update(buf: Buffer): this {
    let i = 0;
    if (this.odd !== null && buf.length > 0) {
      this.add(this.odd | (buf[0]! << 8));
      this.odd = null;
      i = 1;
    }
    for (; i + 1 < buf.length; i += 2) {
      this.sum += buf[i]! | (buf[i + 1]! << 8);
      if (this.sum > 0x7fffffff) this.sum = (this.sum & 0xffff) + Math.floor(this.sum / 0x10000);
    }
    if (i < buf.length) this.odd = buf[i]!;
    this.length += buf.length;
    return this;
  }

  /** Zero padding: adds to the length only. */
  zeros(n: number): this {
    if (n <= 0) return this;
    let rest = n;
    if (this.odd !== null) {
      this.add(this.odd);
      this.odd = null;
      rest--;
    }
    if (rest % 2) this.odd = 0;
    this.length += n;
    return this;
  }

  private add(word: number): void {
    this.sum += word;
  }

  digest(): number {
    let sum = this.sum + (this.odd ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
    return (sum + this.length) >>> 0;
  }
}

/** The checksum of a whole PE file in memory (its CheckSum field counted as zero). */
export function peChecksum(file: Buffer): number {
  const at = parsePe(file).optOffset + OPT_CHECKSUM;
  const c = new PeChecksum();
  c.update(file.subarray(0, at))
    .zeros(4)
    .update(file.subarray(at + 4));
  return c.digest();
}
