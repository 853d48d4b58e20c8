import { spawn } from 'node:child_process';
import { access, constants, open, readFile } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { parsePe } from '../formats/pe.js';

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
  /** Interactive use: QEMU's own terminal handling (ctrl-a x quits). */
  interactive?: boolean;
  extraArgs?: string[];
}

export interface QemuInvocation {
  command: string;
  args: string[];
}

/** What `base` names: a kernel+initrd prefix, a UKI, a disk image or an ISO. */
export type BootTarget =
  | { kind: 'kernel+initrd'; base: string }
  | { kind: 'uki'; path: string }
  | { kind: 'disk'; path: string; format: 'raw' | 'qcow2' | 'vmdk' | 'vpc'; firmware: 'efi' | 'bios' }
  | { kind: 'cdrom'; path: string; firmware: 'efi' | 'bios' };

/** OVMF, the UEFI firmware for QEMU (Debian package ovmf). */
export const ovmfFiles = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
};

const diskFormats: Record<string, 'raw' | 'qcow2' | 'vmdk' | 'vpc'> = { '.img': 'raw', '.raw': 'raw', '.qcow2': 'qcow2', '.vmdk': 'vmdk', '.vhd': 'vpc' };

/**
 * Pure: tells what to boot from the path's extension. Disks boot with OVMF (UEFI) unless their
 * name ends in -bios.img; ISOs with OVMF if they end in -efi.iso. Anything else is the prefix of a
 * kernel+initrd build. The aws format's NAME.raw boots with OVMF here; it boots with legacy BIOS
 * too, which `qemu-system-x86_64 -drive file=NAME.raw,format=raw,snapshot=on` (SeaBIOS) shows.
 */
export function bootTarget(path: string): BootTarget {
  const ext = /\.[a-z0-9]+$/i.exec(path)?.[0].toLowerCase() ?? '';
  if (ext === '.efi') return { kind: 'uki', path };
  if (ext === '.iso') return { kind: 'cdrom', path, firmware: /-efi\.iso$/i.test(path) ? 'efi' : 'bios' };
  const format = diskFormats[ext];
  if (format) return { kind: 'disk', path, format, firmware: /-bios\.img$/i.test(path) ? 'bios' : 'efi' };
  return { kind: 'kernel+initrd', base: path };
}

/** QEMU's -drive option value quoting: a comma in a file name is written twice. */
function driveFile(path: string): string {
  return path.replace(/,/g, ',,');
}

function joinCmdline(...parts: Array<string | undefined>): string {
  return parts.map((p) => p?.trim()).filter(Boolean).join(' ');
}

/**
 * Pure: the QEMU command line with the serial console on stdio.
 * kernel+initrd: -kernel/-initrd/-append with `cmdline` (the build's) plus `append`.
 * UKI: -kernel name.efi under OVMF; with `append`, -append passes `cmdline` (the UKI's own,
 * read from its .cmdline section) plus `append`, since systemd's stub then uses the given
 * command line instead of its own. Disks and ISOs: the firmware boots them; their command line
 * is fixed at build time, so `append` is refused. OVMF's variable store and the disk are opened
 * with snapshot=on: the guest's writes go to a temporary overlay QEMU deletes, never to
 * /usr/share/OVMF or the built image.
 */
export function qemuArgs(o: QemuOptions & { cmdline: string; kvmUsable: boolean; target?: BootTarget; ovmf?: { code: string; vars: string } }): QemuInvocation {
  const target = o.target ?? { kind: 'kernel+initrd', base: o.base };
  const ovmf = o.ovmf ?? ovmfFiles;
  const efi = target.kind === 'uki' || (target.kind !== 'kernel+initrd' && target.firmware === 'efi');
  const firmware = efi
    ? [
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${driveFile(ovmf.code)}`,
        '-drive', `if=pflash,format=raw,unit=1,snapshot=on,file=${driveFile(ovmf.vars)}`,
      ]
    : [];
  let boot: string[];
  switch (target.kind) {
    case 'kernel+initrd':
      boot = ['-kernel', `${target.base}-kernel`, '-initrd', `${target.base}-initrd.img`, '-append', joinCmdline(o.cmdline, o.append)];
      break;
    case 'uki':
      boot = ['-kernel', target.path, ...(o.append?.trim() ? ['-append', joinCmdline(o.cmdline, o.append)] : [])];
      break;
    case 'disk':
    case 'cdrom':
      if (o.append?.trim()) {
        throw new LkError('run', `cannot add "${o.append.trim()}" to the command line of ${target.path}: a ${target.kind === 'disk' ? 'disk image' : 'ISO'} boots with the command line it was built with`, 'put it in the build file\'s kernel.cmdline, or boot the kernel+initrd or uki output');
      }
      boot =
        target.kind === 'disk'
          ? ['-drive', `if=virtio,format=${target.format},snapshot=on,file=${driveFile(target.path)}`]
          : ['-drive', `media=cdrom,format=raw,readonly=on,file=${driveFile(target.path)}`, '-boot', 'order=d'];
      break;
  }
  const useKvm = o.accel === 'kvm' || (o.accel !== 'tcg' && o.kvmUsable);
  const console = o.interactive ? ['-nographic'] : ['-display', 'none', '-monitor', 'none', '-serial', 'stdio'];
  return {
    command: 'qemu-system-x86_64',
    args: [
      '-machine', 'q35',
      '-accel', useKvm ? 'kvm' : 'tcg',
      '-cpu', useKvm ? 'host' : 'max',
      '-smp', String(o.cpus ?? 1),
      '-m', String(o.memoryMiB ?? 1024),
      '-no-reboot',
      ...console,
      ...firmware,
      ...boot,
      '-device', 'virtio-rng-pci',
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

/** Which build writes `path`, for the hint when it is missing. */
function buildHint(path: string): string {
  const f = /\.efi$/i.test(path) ? 'uki'
    : /-bios\.img$/i.test(path) ? 'raw-bios'
    : /\.img$/i.test(path) ? 'raw-efi'
    : /-efi\.iso$/i.test(path) ? 'iso-efi'
    : /\.iso$/i.test(path) ? 'iso-bios'
    : (/\.(qcow2|vmdk|vhd)$/i.exec(path)?.[1]?.toLowerCase() ?? '<format>');
  return `build it first: lkbuild build -f ${f} <file>.yml`;
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

async function prepareImage(o: QemuOptions, target: Exclude<BootTarget, { kind: 'kernel+initrd' }>): Promise<QemuInvocation> {
  await access(target.path, constants.R_OK).catch(() => {
    throw new LkError('run', `${target.path} does not exist`, buildHint(target.path));
  });
  const efi = target.kind === 'uki' || target.firmware === 'efi';
  if (efi) {
    for (const f of [ovmfFiles.code, ovmfFiles.vars]) {
      await access(f, constants.R_OK).catch(() => {
        throw new LkError('run', `booting ${target.path} needs the UEFI firmware ${f}, which is missing`, 'install the Debian package ovmf');
      });
    }
  }
  let cmdline = '';
  if (target.kind === 'uki' && o.append?.trim()) cmdline = await readUkiCmdline(target.path);
  const kvm = o.accel === 'kvm' || (o.accel !== 'tcg' && (await kvmUsable()));
  return qemuArgs({ ...o, cmdline, kvmUsable: kvm, target });
}

export async function prepareQemu(o: QemuOptions): Promise<QemuInvocation> {
  const target = bootTarget(o.base);
  if (target.kind !== 'kernel+initrd') return prepareImage(o, target);
  for (const suffix of ['-kernel', '-initrd.img']) {
    await access(`${o.base}${suffix}`).catch(() => {
      throw new LkError('run', `${o.base}${suffix} does not exist`, `build it first: lkbuild build <file>.yml (outputs <name>-kernel, <name>-initrd.img, <name>-cmdline)`);
    });
  }
  const cmdline = await readFile(`${o.base}-cmdline`, 'utf8').catch(() => 'console=ttyS0');
  const kvm = o.accel === 'kvm' || (o.accel !== 'tcg' && (await kvmUsable()));
  return qemuArgs({ ...o, cmdline, kvmUsable: kvm });
}

/** Boots with the console on this process's stdio; resolves with QEMU's exit code when the VM powers off. */
export async function runQemu(o: QemuOptions): Promise<number> {
  const inv = await prepareQemu(o);
  const child = spawn(inv.command, inv.args, { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new LkError('run', `cannot start ${inv.command}: ${e.message}`, 'install qemu-system-x86')));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? 15 : 0)));
  });
}
