import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LkError } from '../errors.js';
import { isProcessAlive } from '../util/process.js';

/**
 * A node's state directory: what one `run qemu` leaves for the next run of the same node and
 * for `run stop`. The instance id lives here, so a re-run is the same instance.
 */
export interface StateDir {
  dir: string;
  consoleLog: string;
  /** The serial console's FIFOs of a foreground node: PATH.in and PATH.out (console-pipe.ts). */
  consolePipe: string;
  pidFile: string;
  qmpSocket: string;
  seedIso: string;
  instanceIdFile: string;
  imdsSecret: string;
  /** The default file of the n-th --disk given without a file name. */
  disk(n: number, format: 'raw' | 'qcow2'): string;
}

export function stateDir(dir: string): StateDir {
  const d = resolve(dir);
  return {
    dir: d,
    consoleLog: join(d, 'console.log'),
    consolePipe: join(d, 'console'),
    pidFile: join(d, 'qemu.pid'),
    qmpSocket: join(d, 'qmp.sock'),
    seedIso: join(d, 'seed.iso'),
    instanceIdFile: join(d, 'instance-id'),
    imdsSecret: join(d, 'imds.key'),
    disk: (n, format) => join(d, `disk${n}.${format === 'qcow2' ? 'qcow2' : 'img'}`),
  };
}

/** Unix socket paths are limited to 107 bytes; QEMU fails late and obscurely on longer ones. */
const maxSocketPath = 107;

export async function createStateDir(dir: string): Promise<StateDir> {
  const s = stateDir(dir);
  if (Buffer.byteLength(s.qmpSocket) > maxSocketPath) {
    throw new LkError(
      'usage',
      `--state: ${s.dir} is too long a path for the QMP socket in it (${Buffer.byteLength(s.qmpSocket)} bytes, at most ${maxSocketPath})`,
    );
  }
  await mkdir(s.dir, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    throw new LkError('usage', `--state: cannot create ${s.dir}: ${e.code ?? e.message}`);
  });
  return s;
}

/** The instance id recorded in the state directory, created on first use (iid-<16 hex digits>). */
export async function instanceId(s: StateDir): Promise<string> {
  const existing = (await readFile(s.instanceIdFile, 'utf8').catch(() => '')).trim();
  if (/^iid-[0-9a-f]{16}$/.test(existing)) return existing;
  const id = `iid-${randomBytes(8).toString('hex')}`;
  await writeFile(s.instanceIdFile, `${id}\n`, { mode: 0o644 });
  return id;
}

/** The pid of the QEMU that runs in this state directory, or null if none does. */
export async function runningPid(s: StateDir): Promise<number | null> {
  const text = await readFile(s.pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (!isProcessAlive(pid)) return null;
  // A recycled pid is not our QEMU: it must be a QEMU that has our QMP socket on its command line.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(s.qmpSocket) ? pid : null;
}
