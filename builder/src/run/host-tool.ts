import { LkError } from '../errors.js';
import { runCaptured } from '../util/run.js';

/** Runs a host tool and returns its output; fails naming the tool, or the Debian package that provides it. */
export async function hostTool(tool: string, args: string[], pkg: string): Promise<string> {
  const r = await runCaptured(tool, args, { env: { LC_ALL: 'C' } });
  if (r.notInstalled) {
    throw new LkError('tool', `${tool} is not installed`, `install the Debian package ${pkg}`);
  }
  if (r.exitCode !== 0) throw new LkError('tool', `${tool} ${args[0] ?? ''} failed (exit ${r.exitCode ?? 'signal'}): ${r.all.trim()}`);
  return r.stdout.toString('utf8').replace(/\n$/, '');
}
