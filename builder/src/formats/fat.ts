import { stat, utimes } from 'node:fs/promises';
import { runTool, type HostTool } from '../util/host-tool.js';

/**
 * The one FAT builder: file system images made by dosfstools and filled by mtools, for the
 * ESP of the EFI disks, the El Torito image of iso-efi and the raw-bios partition.
 */

export interface FatFile {
  /** A file on the host. */
  source: string;
  /** Its path in the FAT file system, e.g. "EFI/BOOT/BOOTX64.EFI". */
  dest: string;
}

export interface FatGeometry {
  sizeKiB: number;
  fatBits: 16 | 32;
  /** Unset: mkfs.vfat's choice. */
  sectorsPerCluster?: number;
}

export interface FatImageOptions {
  /** Which format is being written, for error messages. */
  format: string;
  files: FatFile[];
  /** 32-bit volume serial number. */
  volumeId: number;
  /** Volume label, up to 11 characters. */
  label: string;
  sourceDateEpoch: number;
  /** The boot sector's hidden-sectors field: where the file system starts on its disk (0 for a bare image). */
  hiddenSectors?: number;
  /** Space left free beyond the files, in bytes (for a boot loader installed afterwards). */
  slack?: number;
  /** A fixed size and type (a partition laid out beforehand); else fatGeometry of the files. */
  geometry?: FatGeometry;
}

export interface FatImage {
  sectors: number;
  fatBits: 16 | 32;
}

const MiB = 1024 * 1024;

/**
 * Size and FAT type of a file system that holds `bytes` of files: whole MiB, FAT16 while it
 * fits (with as few sectors per cluster as keep the cluster count FAT16's), else FAT32.
 */
export function fatGeometry(bytes: number): FatGeometry {
  const size = Math.max(8 * MiB, Math.ceil((bytes * 1.03 + 2 * MiB) / MiB) * MiB);
  const sectors = size / 512;
  for (let spc = 1; spc <= 64; spc *= 2) {
    if (sectors / spc < 65000) return { sizeKiB: size / 1024, fatBits: 16, sectorsPerCluster: spc };
  }
  return { sizeKiB: size / 1024, fatBits: 32 };
}

/** FAT stores local times from 1980 to 2107 with 2-second resolution: the epoch, clamped and rounded down to even seconds. */
export function fatEpoch(sourceDateEpoch: number): number {
  const min = 315532800; // 1980-01-01T00:00:00Z
  const max = 4354819198; // 2107-12-31T23:59:58Z
  const t = Math.min(Math.max(sourceDateEpoch, min), max);
  return t - (t % 2);
}

/** The environment of dosfstools, mtools and syslinux: every time they record is the (FAT) epoch. */
export function fatToolEnv(sourceDateEpoch: number): Record<string, string> {
  return { SOURCE_DATE_EPOCH: String(fatEpoch(sourceDateEpoch)), MTOOLS_SKIP_CHECK: '1' };
}

/**
 * Makes a FAT file system image at `path` holding the files, reproducibly: a fixed serial
 * number, the label written by mtools (mkfs.vfat would stamp it with the current time), every
 * file and directory dated SOURCE_DATE_EPOCH (clamped to FAT's range).
 */
export async function makeFatImage(path: string, o: FatImageOptions): Promise<FatImage> {
  let bytes = o.slack ?? 0;
  for (const f of o.files) bytes += (await stat(f.source)).size + 4096;
  const g = o.geometry ?? fatGeometry(bytes);
  const epoch = fatEpoch(o.sourceDateEpoch);
  const env = fatToolEnv(o.sourceDateEpoch);
  const run = (tool: HostTool, args: string[]) => runTool(tool, args, { user: `the ${o.format} format`, env });

  await run('mkfs.vfat', [
    '-C',
    '-F',
    String(g.fatBits),
    ...(g.sectorsPerCluster ? ['-s', String(g.sectorsPerCluster)] : []),
    '-S',
    '512',
    '-i',
    o.volumeId.toString(16).padStart(8, '0'),
    '-h',
    String(o.hiddenSectors ?? 0),
    path,
    String(g.sizeKiB),
  ]);
  await run('mlabel', ['-i', path, `::${o.label}`]);

  const dirs = new Set<string>();
  for (const f of o.files) {
    const parts = f.dest.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) await run('mmd', ['-i', path, `::/${d}`]);
  for (const f of o.files) {
    await utimes(f.source, epoch, epoch);
    await run('mcopy', ['-m', '-i', path, f.source, `::/${f.dest}`]);
  }
  return { sectors: (g.sizeKiB * 1024) / 512, fatBits: g.fatBits };
}
