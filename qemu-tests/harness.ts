import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { prepareQemu } from '../builder/src/run/qemu.js';

const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');

/** Builds a case's node.yml with the real CLI into a fresh directory; returns the output prefix. */
export async function buildCase(name: string, formats: string[] = ['kernel+initrd']): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `lk-boot-${name}-`));
  const file = join(repo, 'qemu-tests/cases', name, 'node.yml');
  const result = await execa('node', [cli, 'build', '-o', out, '-n', name, ...formats.flatMap((f) => ['-f', f]), file], { reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`lkbuild build ${file} failed (${result.exitCode}):\n${result.all}`);
  return join(out, name);
}

export interface BootResult {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
}

/**
 * Boots a kernel+initrd build with the serial console captured; QEMU exits when the guest powers
 * off (tests pass lk.poweroff=ready), or is killed at the timeout.
 */
export async function boot(base: string, opts: { append?: string; timeoutMs?: number; until?: RegExp } = {}): Promise<BootResult> {
  const inv = await prepareQemu({ base, append: opts.append ?? 'lk.poweroff=ready', memoryMiB: 512 });
  const child = spawn(inv.command, inv.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    if (opts.until?.test(output)) child.kill('SIGKILL');
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exitCode = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  clearTimeout(timer);
  return { output: output.replace(/\r/g, ''), exitCode, timedOut };
}

export interface Marker {
  event: string;
  name?: string;
  fields: Record<string, string>;
  line: string;
}

/** Parses the init's console markers ("lk-init: <event> [name] key=value...") in order. */
export function markers(output: string): Marker[] {
  const found: Marker[] = [];
  for (const line of output.split('\n')) {
    const m = /lk-init: (\w+)((?: [^ =]+)?)((?: [\w-]+=\S*)*)\s*$/.exec(line);
    if (!m) continue;
    const words = m[2].trim().split(' ').filter(Boolean);
    const fields: Record<string, string> = {};
    for (const kv of m[3].trim().split(' ').filter(Boolean)) {
      const i = kv.indexOf('=');
      fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    found.push({ event: m[1], name: words[0], fields, line });
  }
  return found;
}
