import { LkError } from '../errors.js';
import { writeKernelInitrd, type FormatContext } from './kernel-initrd.js';

export type FormatWriter = (ctx: FormatContext) => Promise<void>;

const writers: Record<string, FormatWriter> = {
  'kernel+initrd': writeKernelInitrd,
};

export const formatNames = Object.keys(writers);

export function formatWriter(name: string): FormatWriter {
  const w = writers[name];
  if (!w) throw new LkError('format', `unknown output format "${name}"`, `available: ${formatNames.join(', ')}`);
  return w;
}
