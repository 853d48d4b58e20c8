import { LkError } from '../errors.js';
import type { FormatContext } from './context.js';

/**
 * The output formats, in one table: each names the files it writes, the firmware that boots
 * it and whether a boot can add to its kernel command line. `build` writes through it and
 * `run qemu` reads it to tell what a file is and how to boot it, so a file name is decided here
 * and nowhere else.
 */

/** What a written file is. */
export type OutputRole = 'kernel' | 'initrd' | 'cmdline' | 'root-image' | 'uki' | 'disk' | 'cdrom' | 'archive';

/**
 * What boots the format: legacy BIOS, UEFI, either (one image for both), the kernel loaded
 * directly by a boot loader or QEMU's -kernel, or nothing (a root filesystem archive).
 */
export type Firmware = 'bios' | 'uefi' | 'bios+uefi' | 'direct-kernel' | 'none';

/** QEMU's -drive format= for a disk image file. */
export type DiskImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vpc';

export interface OutputFile {
  role: OutputRole;
  /** Appended to the output prefix "<dir>/<name>". */
  suffix: string;
  /** Disk images only: how QEMU reads the file. */
  diskFormat?: DiskImageFormat;
}

/** The path of a file the format declares, by its role. */
export type OutputPath = (role: OutputRole) => string;

export interface OutputFormat {
  name: string;
  files: readonly OutputFile[];
  firmware: Firmware;
  /** Whether extra kernel command line can be given at boot (`run qemu --append`). */
  append: boolean;
  /** Whether `build --verity` applies: the format carries the root image with its dm-verity hash tree. */
  verity?: boolean;
  write(ctx: FormatContext, path: OutputPath): Promise<void>;
}

type Writer = OutputFormat['write'];
export type FormatWriter = (ctx: FormatContext) => Promise<void>;

const disk = (suffix: string, diskFormat: DiskImageFormat): OutputFile => ({ role: 'disk', suffix, diskFormat });
const archive = (suffix: string): OutputFile => ({ role: 'archive', suffix });

// The modules of the formats load on first use: a command that only names formats (the usage
// text, `run qemu`, `cache pull`) does not load the cpio and compression code.
const vmDisk =
  (format: 'qcow2' | 'vmdk' | 'vhd'): Writer =>
  (ctx, path) =>
    import('./vm-disks.js').then((m) => m.writeVmDisk(ctx, format, path('disk')));

export const outputFormats: readonly OutputFormat[] = [
  {
    name: 'kernel+initrd',
    files: [
      { role: 'kernel', suffix: '-kernel' },
      { role: 'initrd', suffix: '-initrd.img' },
      { role: 'cmdline', suffix: '-cmdline' },
    ],
    firmware: 'direct-kernel',
    append: true,
    write: (ctx, path) => import('./kernel-initrd.js').then((m) => m.writeKernelInitrd(ctx, path)),
  },
  {
    // LinuxKit's name; the initrd is ours (the init alone: it opens the root image).
    name: 'kernel+squashfs',
    files: [
      { role: 'kernel', suffix: '-kernel' },
      { role: 'initrd', suffix: '-initrd.img' },
      { role: 'root-image', suffix: '-squashfs.img' },
      { role: 'cmdline', suffix: '-cmdline' },
    ],
    firmware: 'direct-kernel',
    append: true,
    verity: true,
    write: (ctx, path) => import('./kernel-squashfs.js').then((m) => m.writeKernelSquashfs(ctx, path)),
  },
  {
    name: 'iso-bios',
    files: [{ role: 'cdrom', suffix: '.iso' }],
    firmware: 'bios',
    append: false,
    write: (ctx, path) => import('./iso-bios.js').then((m) => m.writeIsoBios(ctx, path('cdrom'))),
  },
  {
    name: 'raw-bios',
    files: [disk('-bios.img', 'raw')],
    firmware: 'bios',
    append: false,
    write: (ctx, path) => import('./raw-bios.js').then((m) => m.writeRawBios(ctx, path('disk'))),
  },
  {
    name: 'iso-efi',
    files: [{ role: 'cdrom', suffix: '-efi.iso' }],
    firmware: 'uefi',
    append: false,
    write: (ctx, path) => import('./iso-efi.js').then((m) => m.writeIsoEfi(ctx, path('cdrom'))),
  },
  {
    // UEFI loads the UKI as an EFI program; systemd's stub takes a given command line instead of its own.
    name: 'uki',
    files: [{ role: 'uki', suffix: '.efi' }],
    firmware: 'uefi',
    append: true,
    write: (ctx, path) => import('./uki.js').then((m) => m.writeUki(ctx, path('uki'))),
  },
  {
    name: 'raw-efi',
    files: [disk('-efi.img', 'raw')],
    firmware: 'uefi',
    append: false,
    verity: true,
    write: (ctx, path) => import('./raw-efi.js').then((m) => m.writeRawEfi(ctx, path('disk'))),
  },
  { name: 'qcow2', files: [disk('.qcow2', 'qcow2')], firmware: 'uefi', append: false, verity: true, write: vmDisk('qcow2') },
  { name: 'vmdk', files: [disk('.vmdk', 'vmdk')], firmware: 'uefi', append: false, verity: true, write: vmDisk('vmdk') },
  { name: 'vhd', files: [disk('.vhd', 'vpc')], firmware: 'uefi', append: false, verity: true, write: vmDisk('vhd') },
  {
    name: 'aws',
    files: [disk('.raw', 'raw')],
    firmware: 'bios+uefi',
    append: false,
    verity: true,
    write: (ctx, path) => import('./aws.js').then((m) => m.writeAws(ctx, path('disk'))),
  },
  {
    // A raw-efi disk inside a tar.gz, as Google Compute Engine imports it.
    name: 'gcp',
    files: [archive('.img.tar.gz')],
    firmware: 'uefi',
    append: false,
    verity: true,
    write: (ctx, path) => import('./gcp.js').then((m) => m.writeGcp(ctx, path('archive'))),
  },
  {
    // kernel, initrd.img and cmdline inside a tar, for a boot loader to load.
    name: 'tar-kernel-initrd',
    files: [archive('-initrd.tar')],
    firmware: 'direct-kernel',
    append: true,
    write: (ctx, path) => import('./tar-kernel-initrd.js').then((m) => m.writeTarKernelInitrd(ctx, path('archive'))),
  },
  {
    name: 'tar',
    files: [archive('.tar')],
    firmware: 'none',
    append: false,
    write: (ctx, path) => import('./tar.js').then((m) => m.writeTar(ctx, path('archive'))),
  },
];

export const formatNames = outputFormats.map((f) => f.name);

/** The format called `name`; an unknown name fails with the list of known ones. */
export function outputFormat(name: string): OutputFormat {
  const f = outputFormats.find((x) => x.name === name);
  if (!f) throw new LkError('format', `unknown output format "${name}"`, `available: ${formatNames.join(', ')}`);
  return f;
}

/** The formats `build --verity` applies to. */
export const verityFormatNames = outputFormats.filter((f) => f.verity).map((f) => f.name);

/**
 * Two requested formats that would write the same file with different contents (kernel+initrd
 * and kernel+squashfs both write NAME-initrd.img and NAME-cmdline), as [first, second, suffix].
 */
export function clashingFormats(formats: readonly OutputFormat[]): [OutputFormat, OutputFormat, string] | undefined {
  const owner = new Map<string, OutputFormat>();
  for (const f of formats) {
    for (const file of f.files) {
      const other = owner.get(file.suffix.toLowerCase());
      if (other && other !== f) return [other, f, file.suffix];
      owner.set(file.suffix.toLowerCase(), f);
    }
  }
  return undefined;
}

/** Resolves the format's file roles to paths under the output prefix `base` ("<dir>/<name>"). */
export function outputPath(format: OutputFormat, base: string): OutputPath {
  return (role) => {
    const file = format.files.find((f) => f.role === role);
    if (!file) throw new Error(`internal: the ${format.name} format declares no ${role} file`);
    return `${base}${file.suffix}`;
  };
}

/** The paths of every file the format writes for the output prefix `base`, in table order. */
export function outputPaths(format: OutputFormat | string, base: string): string[] {
  const f = typeof format === 'string' ? outputFormat(format) : format;
  return f.files.map((x) => `${base}${x.suffix}`);
}

/**
 * Which format wrote `path` and which of its files it is, told by the file name's ending
 * (case-insensitive, the longest declared suffix wins: "-efi.img" over "-bios.img" is decided
 * by the text, ".img.tar.gz" over ".tar" by length); `base` is the output prefix. Undefined
 * for a name no format writes, such as the bare prefix of a kernel+initrd build.
 */
export function identifyOutput(path: string): { format: OutputFormat; file: OutputFile; base: string } | undefined {
  const lower = path.toLowerCase();
  let best: { format: OutputFormat; file: OutputFile } | undefined;
  for (const format of outputFormats) {
    for (const file of format.files) {
      if (lower.length > file.suffix.length && lower.endsWith(file.suffix) && file.suffix.length > (best?.file.suffix.length ?? 0))
        best = { format, file };
    }
  }
  return best && { ...best, base: path.slice(0, path.length - best.file.suffix.length) };
}

/** The writer of the format called `name`, writing the files the table declares for `ctx.base`. */
export function formatWriter(name: string): FormatWriter {
  const f = outputFormat(name);
  return (ctx) => f.write(ctx, outputPath(f, ctx.base));
}
