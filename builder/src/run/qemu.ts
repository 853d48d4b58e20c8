import { access, constants, open, readFile, stat } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { identifyOutput, outputFormat, outputPath, outputPaths, type DiskImageFormat } from '../formats/index.js';
import { bootsRootImage } from '../formats/root-image.js';
import { parsePe } from '../formats/pe.js';
import { virtioBlockDevice } from './disks.js';
import { qemuValue } from './network.js';
import { optionError, type Machine } from './options.js';

export interface QemuOptions {
  /**
   * What to boot: the output path prefix of a kernel+initrd build ("<dir>/<name>"), or an image
   * file recognised by its extension (see bootTarget): name.efi, name-efi.img, name.qcow2, ...
   */
  base: string;
  memoryMiB?: number;
  cpus?: number;
  /** Extra kernel command line, appended to <name>-cmdline. */
  append?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
  /** Interactive use: the console on the terminal, ctrl-a x quits, ctrl-a c is QEMU's monitor. */
  interactive?: boolean;
  /** --uefi / --bios: the firmware, whatever the file name implies. */
  firmware?: 'uefi' | 'bios';
  /** --secure-boot: OVMF with Secure Boot enforced, with this variable store (default: Debian's snakeoil one). */
  secureBoot?: { vars?: string };
  machine?: Machine;
  extraArgs?: string[];
}

export interface QemuInvocation {
  command: string;
  args: string[];
}

/** What `base` names: a kernel+initrd prefix, a UKI, a disk image or an ISO. */
export type BootTarget =
  /** `rootImage`: a kernel+squashfs build's root image, attached read-only as the first virtio disk. */
  | { kind: 'kernel+initrd'; base: string; rootImage?: string }
  | { kind: 'uki'; path: string; output: string }
  | { kind: 'disk'; path: string; format: DiskImageFormat; firmware: 'efi' | 'bios'; output: string }
  | { kind: 'cdrom'; path: string; firmware: 'efi' | 'bios'; output: string };

/** OVMF, the UEFI firmware for QEMU (Debian package ovmf). */
export const ovmfFiles = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
};

/** OVMF built with Secure Boot and SMM, and Debian's variable store with its snakeoil keys enrolled. */
export const ovmfSecureFiles = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd',
};

/**
 * Tells what to boot from the formats table (formats/index.ts decides every file name): a file
 * that a format writes, or else the prefix of a kernel+initrd build. Any of the kernel+initrd
 * files stands for its prefix. A format that boots with BIOS and UEFI (aws) boots with OVMF
 * unless --bios says otherwise.
 */
export function bootTarget(path: string): BootTarget {
  const known = identifyOutput(path);
  if (!known) return { kind: 'kernel+initrd', base: path };
  const { format, file } = known;
  const firmware = format.firmware === 'bios' ? 'bios' : 'efi';
  switch (file.role) {
    case 'kernel':
    case 'initrd':
    case 'cmdline':
      return { kind: 'kernel+initrd', base: known.base };
    case 'root-image':
      return { kind: 'kernel+initrd', base: known.base, rootImage: path };
    case 'uki':
      return { kind: 'uki', path, output: format.name };
    case 'disk':
      return { kind: 'disk', path, format: file.diskFormat ?? 'raw', firmware, output: format.name };
    case 'cdrom':
      return { kind: 'cdrom', path, firmware, output: format.name };
    case 'archive':
      throw new LkError(
        'run',
        `${path} is the ${format.name} output, an archive that QEMU cannot boot`,
        format.name === 'gcp' ? 'extract disk.raw from it and boot that' : 'boot the kernel+initrd output, or extract the archive first',
      );
  }
}

function targetPath(t: BootTarget): string {
  return t.kind === 'kernel+initrd' ? t.base : t.path;
}

/**
 * Pure: the firmware a target boots with under the options: 'direct' is QEMU's own loading of
 * -kernel (SeaBIOS underneath). --uefi/--bios override the file name; a UKI needs UEFI; Secure
 * Boot needs UEFI and refuses a BIOS image; microvm boots kernel+initrd directly and nothing else.
 */
export function resolveFirmware(t: BootTarget, o: Pick<QemuOptions, 'firmware' | 'secureBoot' | 'machine'>): 'efi' | 'bios' | 'direct' {
  const path = targetPath(t);
  if (o.machine === 'microvm') {
    if (t.kind !== 'kernel+initrd') throw optionError('--machine', `microvm boots a kernel+initrd build directly; ${path} needs firmware`);
    if (o.firmware || o.secureBoot)
      throw optionError(
        o.secureBoot ? '--secure-boot' : `--${o.firmware}`,
        'microvm has no firmware to choose: it boots the kernel directly',
      );
    return 'direct';
  }
  const implied = t.kind === 'uki' ? 'efi' : t.kind === 'kernel+initrd' ? 'direct' : t.firmware;
  if (t.kind === 'uki' && o.firmware === 'bios') throw optionError('--bios', `${path} is a UKI, an EFI program: it boots only with UEFI`);
  const chosen = o.firmware === 'uefi' ? 'efi' : o.firmware === 'bios' ? (t.kind === 'kernel+initrd' ? 'direct' : 'bios') : implied;
  if (o.secureBoot) {
    if (chosen === 'bios' || o.firmware === 'bios')
      throw optionError('--secure-boot', `${path} boots with BIOS, which has no Secure Boot; boot a UEFI image (uki, raw-efi, qcow2, ...)`);
    return 'efi';
  }
  return chosen;
}

/** QEMU's -drive option value quoting: a comma in a file name is written twice. */
function driveFile(path: string): string {
  return qemuValue(path);
}

function joinCmdline(...parts: Array<string | undefined>): string {
  return parts
    .map((p) => p?.trim())
    .filter(Boolean)
    .join(' ');
}

function bootArgs(
  target: BootTarget,
  o: { cmdline: string; append?: string; tscKhz?: number; secureBoot?: object; machine?: Machine },
): string[] {
  switch (target.kind) {
    case 'kernel+initrd': {
      const tsc = o.tscKhz ? `tsc_early_khz=${o.tscKhz}` : undefined;
      // The root image comes before every other disk (they are attached later), so it is /dev/vda.
      const root = target.rootImage
        ? [
            '-drive',
            `if=none,id=root,format=raw,readonly=on,file=${driveFile(target.rootImage)}`,
            '-device',
            `${virtioBlockDevice(o.machine)},drive=root`,
          ]
        : [];
      return [
        '-kernel',
        `${target.base}-kernel`,
        '-initrd',
        `${target.base}-initrd.img`,
        '-append',
        joinCmdline(o.cmdline, tsc, o.append),
        ...root,
      ];
    }
    case 'uki':
      if (o.secureBoot && o.append?.trim())
        throw optionError(
          '--append',
          `systemd's stub ignores a command line given to ${target.path} under Secure Boot; put it in the build file's kernel.cmdline`,
        );
      return ['-kernel', target.path, ...(o.append?.trim() ? ['-append', joinCmdline(o.cmdline, o.append)] : [])];
    case 'disk':
    case 'cdrom':
      if (o.append?.trim() && !outputFormat(target.output).append) {
        throw new LkError(
          'run',
          `cannot add "${o.append.trim()}" to the command line of ${target.path}: a ${target.kind === 'disk' ? 'disk image' : 'ISO'} boots with the command line it was built with`,
          "put it in the build file's kernel.cmdline, or boot the kernel+initrd or uki output",
        );
      }
      return target.kind === 'disk'
        ? ['-drive', `if=virtio,format=${target.format},snapshot=on,file=${driveFile(target.path)}`]
        : ['-drive', `media=cdrom,format=raw,readonly=on,file=${driveFile(target.path)}`, '-boot', 'order=d'];
  }
}

/** Where the serial console goes: stdio (captured), the terminal (interactive) or a file (detached). */
export type ConsoleMode = 'stdio' | 'interactive' | 'file';

/**
 * Pure: the serial console (and, interactively, QEMU's monitor behind ctrl-a c), logged to `log`.
 * Captured, through the FIFOs at `pipe` when given (see console-pipe.ts for why).
 */
function consoleArgs(mode: ConsoleMode, log?: string, pipe?: string): string[] {
  if (mode === 'file') {
    if (!log) throw new LkError('run', 'a detached node needs a console log file');
    return ['-chardev', `file,id=console,path=${driveFile(log)}`, '-serial', 'chardev:console', '-monitor', 'none'];
  }
  const logfile = log ? `,logfile=${driveFile(log)}` : '';
  // signal=on keeps the terminal's ctrl-c a signal (it reaches lkbuild, which stops the node
  // cleanly); QEMU runs in a session of its own, so it does not get the signal itself.
  if (mode === 'interactive')
    return [
      '-chardev',
      `stdio,id=console,mux=on,signal=on${logfile}`,
      '-serial',
      'chardev:console',
      '-mon',
      'chardev=console,mode=readline',
    ];
  const chardev = pipe ? `pipe,id=console,path=${driveFile(pipe)}` : 'stdio,id=console,signal=off';
  return ['-chardev', `${chardev}${logfile}`, '-serial', 'chardev:console', '-monitor', 'none'];
}

export interface QemuArgsInput extends QemuOptions {
  cmdline: string;
  kvmUsable: boolean;
  target?: BootTarget;
  ovmf?: { code: string; vars: string };
  console?: ConsoleMode;
  consoleLog?: string;
  /** Captured console: the FIFOs' path (PATH.in, PATH.out) instead of QEMU's own stdio. */
  consolePipe?: string;
  /** The QMP socket and pid file that `run stop` uses. */
  control?: { qmpSocket: string; pidFile: string };
  /** NIC, data disks, seed: see network.ts and disks.ts. Undefined: QEMU's default NIC. */
  devices?: string[];
  /**
   * microvm under TCG: the TSC frequency (kHz) for the kernel. microvm has no PIT, HPET or PM
   * timer to calibrate the TSC against, and without a frequency the kernel hangs at boot.
   */
  tscKhz?: number;
}

/**
 * Pure: the QEMU command line.
 * kernel+initrd: -kernel/-initrd/-append with `cmdline` (the build's) plus `append`.
 * UKI: -kernel name.efi under OVMF; with `append`, -append passes `cmdline` (the UKI's own,
 * read from its .cmdline section) plus `append`, since systemd's stub then uses the given
 * command line instead of its own. Disks and ISOs: the firmware boots them; their command line
 * is fixed at build time, so `append` is refused. OVMF's variable store and the disk are opened
 * with snapshot=on: the guest's writes go to a temporary overlay QEMU deletes, never to
 * /usr/share/OVMF or the built image. A guest panic (pvpanic) makes QEMU exit with failure.
 */
export function qemuArgs(o: QemuArgsInput): QemuInvocation {
  const target = o.target ?? { kind: 'kernel+initrd', base: o.base };
  const firmware = resolveFirmware(target, o);
  const ovmf = o.ovmf ?? (o.secureBoot ? { code: ovmfSecureFiles.code, vars: o.secureBoot.vars ?? ovmfSecureFiles.vars } : ovmfFiles);
  const microvm = o.machine === 'microvm';
  const flash =
    firmware === 'efi'
      ? [
          '-drive',
          `if=pflash,format=raw,unit=0,readonly=on,file=${driveFile(ovmf.code)}`,
          '-drive',
          `if=pflash,format=raw,unit=1,snapshot=on,file=${driveFile(ovmf.vars)}`,
        ]
      : [];
  const machine = microvm
    ? ['-machine', 'microvm,x-option-roms=off,isa-serial=on,rtc=on']
    : o.secureBoot
      ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on', '-global', 'ICH9-LPC.disable_s3=1']
      : ['-machine', 'q35'];
  const useKvm = o.accel === 'kvm' || (o.accel !== 'tcg' && o.kvmUsable);
  const mode = o.console ?? (o.interactive ? 'interactive' : 'stdio');
  return {
    command: 'qemu-system-x86_64',
    args: [
      ...machine,
      '-accel',
      useKvm ? 'kvm' : 'tcg',
      '-cpu',
      useKvm ? 'host' : 'max',
      '-smp',
      String(o.cpus ?? 1),
      '-m',
      String(o.memoryMiB ?? 1024),
      '-no-reboot',
      '-display',
      'none',
      ...consoleArgs(mode, o.consoleLog, o.consolePipe),
      ...(o.control ? ['-qmp', `unix:${driveFile(o.control.qmpSocket)},server=on,wait=off`, '-pidfile', o.control.pidFile] : []),
      ...flash,
      ...bootArgs(target, o),
      '-device',
      microvm ? 'virtio-rng-device' : 'virtio-rng-pci',
      ...(microvm ? [] : ['-device', 'pvpanic-pci', '-action', 'panic=exit-failure']),
      ...(o.devices ?? []),
      ...(o.extraArgs ?? []),
    ],
  };
}

/**
 * KVM is used automatically only on bare metal where /dev/kvm opens for read and write.
 * Inside a VM (the CPU reports a hypervisor) nested KVM often opens fine and then fails the
 * guest with "emulation failure", so there it is used only when asked for (--accel kvm).
 */
export async function kvmUsable(): Promise<boolean> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  if (/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) return false;
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    const { open } = await import('node:fs/promises');
    const fh = await open('/dev/kvm', 'r+');
    await fh.close();
    return true;
  } catch {
    return false;
  }
}

/** The command line in a UKI's .cmdline section ('' if it has none), reading only the headers and that section. */
export async function readUkiCmdline(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const s = parsePe(head.subarray(0, bytesRead)).sections.find((x) => x.name === '.cmdline');
    if (!s) return '';
    const data = Buffer.alloc(Math.min(s.virtualSize, s.sizeOfRawData));
    await fh.read(data, 0, data.length, s.pointerToRawData);
    return data.toString('utf8').replace(/\0+$/, '');
  } finally {
    await fh.close();
  }
}

/** What prepareQemu adds to the options: where the console, QMP socket and devices go. */
export type QemuPlumbing = Partial<Pick<QemuArgsInput, 'console' | 'consoleLog' | 'consolePipe' | 'control' | 'devices'>>;

async function requireReadable(path: string, what: () => LkError): Promise<void> {
  await access(path, constants.R_OK).catch(() => {
    throw what();
  });
}

/**
 * A kernel+initrd or kernel+squashfs build (both write NAME-kernel, NAME-initrd.img and
 * NAME-cmdline): checks its files and reads its command line. Given the prefix or one of the
 * shared files, it is kernel+squashfs when NAME-squashfs.img is there and the command line
 * boots from it (a stale image beside a later kernel+initrd build is left alone).
 */
async function directKernelTarget(t: Extract<BootTarget, { kind: 'kernel+initrd' }>): Promise<{ target: BootTarget; cmdline: string }> {
  const squashfs = outputFormat('kernel+squashfs');
  const path = outputPath(squashfs, t.base);
  const missing = (role: 'kernel' | 'initrd' | 'root-image', format: string) => () =>
    new LkError(
      'run',
      `${path(role)} does not exist`,
      `build it first: lkbuild build -f ${format} <file>.yml (outputs ${outputPaths(format, '<name>').join(', ')})`,
    );
  const format = t.rootImage ? squashfs.name : 'kernel+initrd';
  for (const role of ['kernel', 'initrd', ...(t.rootImage ? (['root-image'] as const) : [])] as const) {
    await requireReadable(path(role), missing(role, format));
  }
  const cmdline = await readFile(path('cmdline'), 'utf8').catch(() => 'console=ttyS0');
  if (t.rootImage || !bootsRootImage(cmdline)) return { target: t, cmdline };
  await requireReadable(path('root-image'), missing('root-image', squashfs.name));
  return { target: { ...t, rootImage: path('root-image') }, cmdline };
}

/**
 * bootTarget, except that a prefix whose name ends like a kernel+initrd file (a build named
 * `debian-kernel` writes debian-kernel-kernel) is the prefix when that is what exists.
 */
async function resolveBootTarget(path: string): Promise<BootTarget> {
  const target = bootTarget(path);
  if (target.kind !== 'kernel+initrd' || target.base === path) return target;
  const isFile = await stat(path).then(
    (st) => st.isFile(),
    () => false,
  );
  if (isFile) return target;
  const prefixBuilt = await access(outputPath(outputFormat('kernel+initrd'), path)('kernel'), constants.R_OK).then(
    () => true,
    () => false,
  );
  return prefixBuilt ? { kind: 'kernel+initrd', base: path } : target;
}

/**
 * Checks that what is to be booted and its firmware exist, reads the command line it boots
 * with, and returns QEMU's command line. Option conflicts are usage errors, raised before any file is read.
 */
export async function prepareQemu(o: QemuOptions & QemuPlumbing): Promise<QemuInvocation> {
  let target = await resolveBootTarget(o.base);
  const firmware = resolveFirmware(target, o);
  let cmdline = '';
  if (target.kind === 'kernel+initrd') {
    ({ target, cmdline } = await directKernelTarget(target));
  } else {
    const { path, output } = target;
    await requireReadable(
      path,
      () => new LkError('run', `${path} does not exist`, `build it first: lkbuild build -f ${output} <file>.yml`),
    );
    if (target.kind === 'uki' && o.append?.trim()) cmdline = await readUkiCmdline(path);
  }
  if (firmware === 'efi') {
    const files = o.secureBoot ? [ovmfSecureFiles.code, o.secureBoot.vars ?? ovmfSecureFiles.vars] : [ovmfFiles.code, ovmfFiles.vars];
    for (const f of files) {
      await requireReadable(f, () =>
        f === o.secureBoot?.vars
          ? new LkError('usage', `--secure-boot: the variable store ${f} cannot be read`)
          : new LkError(
              'run',
              `booting ${targetPath(target)} with UEFI needs the firmware ${f}, which is missing`,
              'install the Debian package ovmf',
            ),
      );
    }
  }
  const kvm = o.accel === 'kvm' || (o.accel !== 'tcg' && (await kvmUsable()));
  const tscKhz = o.machine === 'microvm' && !kvm ? await hostTscKhz() : undefined;
  return qemuArgs({ ...o, cmdline, kvmUsable: kvm, target, tscKhz });
}

/** Under TCG the guest's TSC counts at the host's rate: the host CPU's clock, in kHz. */
async function hostTscKhz(): Promise<number | undefined> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return mhz > 0 ? Math.round(mhz * 1000) : undefined;
}
