import { spawn } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { LkError } from '../errors.js';

export interface QemuOptions {
  /** Output path prefix of a kernel+initrd build: "<dir>/<name>". */
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

/** Pure: the QEMU command line for a kernel+initrd boot with the serial console on stdio. */
export function qemuArgs(o: QemuOptions & { cmdline: string; kvmUsable: boolean }): QemuInvocation {
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
      '-kernel', `${o.base}-kernel`,
      '-initrd', `${o.base}-initrd.img`,
      '-append', [o.cmdline.trim(), o.append?.trim()].filter(Boolean).join(' '),
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

export async function prepareQemu(o: QemuOptions): Promise<QemuInvocation> {
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
