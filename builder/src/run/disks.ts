import { link, open, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LkError } from '../errors.js';
import { tempPathIn } from '../util/atomic-file.js';
import { runTool } from '../util/host-tool.js';
import { qemuValue } from './network.js';
import { optionError, type DiskSpec, type Machine } from './options.js';
import type { StateDir } from './state.js';

/** A --disk resolved against the host: its file, format and whether this run creates it. */
export interface DiskPlan {
  file: string;
  format: 'raw' | 'qcow2';
  /** Bytes to create the file with; undefined when the file exists and is used as it is. */
  create?: number;
  spec: string;
}

/** The size a guest sees of an existing disk file. */
async function virtualSize(file: string, format: 'raw' | 'qcow2'): Promise<number> {
  if (format === 'raw') return (await stat(file)).size;
  const out = await runTool('qemu-img', ['info', '-U', '-f', 'qcow2', '--output=json', file], { user: '--disk' }).catch((e: LkError) => {
    throw optionError('--disk', `${file} is not a qcow2 image: ${e.message}`);
  });
  return (JSON.parse(out) as { 'virtual-size': number })['virtual-size'];
}

/**
 * Checks every --disk without writing anything: a missing file needs a size, an existing one is
 * used as it is and must fit the size given, and no file is attached twice.
 */
export async function planDisks(specs: DiskSpec[], state: StateDir): Promise<DiskPlan[]> {
  const plans: DiskPlan[] = [];
  for (const [i, spec] of specs.entries()) {
    const format = spec.format ?? (spec.file && /\.qcow2$/i.test(spec.file) ? 'qcow2' : 'raw');
    const file = spec.file ? resolve(spec.file) : state.disk(i, format);
    if (plans.some((p) => p.file === file)) throw optionError('--disk', `"${spec.spec}": ${file} is attached twice`);
    const existing = await stat(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw optionError('--disk', `"${spec.spec}": cannot read ${file}: ${e.code ?? e.message}`);
    });
    if (existing) {
      if (!existing.isFile() && !existing.isBlockDevice()) throw optionError('--disk', `"${spec.spec}": ${file} is not a file`);
      const size = existing.isFile() ? await virtualSize(file, format) : undefined;
      if (spec.sizeBytes !== undefined && size !== undefined && spec.sizeBytes < size) {
        throw optionError(
          '--disk',
          `"${spec.spec}": size=${spec.sizeBytes} bytes cannot hold the existing ${file} (${size} bytes); it is never shrunk`,
        );
      }
      plans.push({ file, format, spec: spec.spec });
      continue;
    }
    if (spec.sizeBytes === undefined) throw optionError('--disk', `"${spec.spec}": ${file} does not exist; give size=SIZE to create it`);
    const dir = spec.file ? await stat(dirname(file)).catch(() => null) : null; // the state directory is created later
    if (spec.file && !dir?.isDirectory()) throw optionError('--disk', `"${spec.spec}": the directory ${dirname(file)} does not exist`);
    plans.push({ file, format, create: spec.sizeBytes, spec: spec.spec });
  }
  return plans;
}

/**
 * Creates the planned disks that are missing. A file is created under a temporary name and
 * linked into place, which fails if something appeared there meanwhile: nothing is overwritten.
 */
export async function createDisks(plans: DiskPlan[]): Promise<void> {
  for (const p of plans) {
    if (p.create === undefined) continue;
    const temp = tempPathIn(dirname(p.file));
    try {
      if (p.format === 'qcow2') {
        await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', temp, String(p.create)], { user: '--disk' });
      } else {
        const fh = await open(temp, 'wx', 0o644);
        await fh.truncate(p.create).finally(() => fh.close());
      }
      await link(temp, p.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new LkError('run', `${p.file} appeared while lkbuild was creating it; it was left alone`);
      throw e instanceof LkError ? e : new LkError('run', `cannot create the disk ${p.file}: ${(e as Error).message}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

/** The virtio block device of the machine: PCI on q35, MMIO on microvm. */
export function virtioBlockDevice(machine?: Machine): string {
  return machine === 'microvm' ? 'virtio-blk-device' : 'virtio-blk-pci';
}

/** Pure: QEMU's arguments that attach the disks as virtio block devices, in order. */
export function diskArgs(plans: DiskPlan[], machine: Machine): string[] {
  const device = virtioBlockDevice(machine);
  return plans.flatMap((p, i) => [
    '-drive',
    `if=none,id=disk${i},format=${p.format},discard=unmap,file=${qemuValue(p.file)}`,
    '-device',
    `${device},drive=disk${i}`,
  ]);
}
