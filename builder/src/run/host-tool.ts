import { execa } from 'execa';
import { LkError } from '../errors.js';

/** Runs a host tool and returns its output; fails naming the tool, or the Debian package that provides it. */
export async function hostTool(tool: string, args: string[], pkg: string): Promise<string> {
  const r = await execa(tool, args, { reject: false, all: true, env: { LC_ALL: 'C' } });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') {
    throw new LkError('tool', `${tool} is not installed`, `install the Debian package ${pkg}`);
  }
  if (r.exitCode !== 0) throw new LkError('tool', `${tool} ${args[0] ?? ''} failed (exit ${r.exitCode ?? 'signal'}): ${String(r.all ?? '').trim()}`);
  return String(r.stdout);
}
