import { LkError } from '../errors.js';
import type { FormatContext } from './context.js';
import { writeKernelInitrd } from './kernel-initrd.js';

export type FormatWriter = (ctx: FormatContext) => Promise<void>;

const writers: Record<string, FormatWriter> = {
  'kernel+initrd': writeKernelInitrd,
  'iso-bios': (ctx) => import('./iso-bios.js').then((m) => m.writeIsoBios(ctx)),
  'raw-bios': (ctx) => import('./raw-bios.js').then((m) => m.writeRawBios(ctx)),
  'iso-efi': (ctx) => import('./iso-efi.js').then((m) => m.writeIsoEfi(ctx)),
  uki: (ctx) => import('./uki.js').then((m) => m.writeUki(ctx)),
  'raw-efi': (ctx) => import('./raw-efi.js').then((m) => m.writeRawEfi(ctx)),
  qcow2: (ctx) => import('./vm-disks.js').then((m) => m.writeQcow2(ctx)),
  vmdk: (ctx) => import('./vm-disks.js').then((m) => m.writeVmdk(ctx)),
  vhd: (ctx) => import('./vm-disks.js').then((m) => m.writeVhd(ctx)),
  aws: (ctx) => import('./aws.js').then((m) => m.writeAws(ctx)),
  gcp: (ctx) => import('./gcp.js').then((m) => m.writeGcp(ctx)),
  'tar-kernel-initrd': (ctx) => import('./tar-kernel-initrd.js').then((m) => m.writeTarKernelInitrd(ctx)),
  tar: (ctx) => import('./tar.js').then((m) => m.writeTar(ctx)),
};

export const formatNames = Object.keys(writers);

export function formatWriter(name: string): FormatWriter {
  const w = writers[name];
  if (!w) throw new LkError('format', `unknown output format "${name}"`, `available: ${formatNames.join(', ')}`);
  return w;
}
