import { access, constants } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { LkError } from '../errors.js';
import { identifyOutput } from '../formats/index.js';
import { createDisks, diskArgs, planDisks, virtioBlockDevice } from './disks.js';
import { ensureImdsKey, imdsCommand } from './imds-server.js';
import { runForeground, startDetached } from './lifecycle.js';
import { checkPublishedPorts, instanceMac, networkArgs, qemuValue } from './network.js';
import { optionError, type DiskSpec, type Networking, type PublishedPort } from './options.js';
import { bootTarget, prepareQemu, resolveFirmware, type QemuOptions } from './qemu.js';
import { writeSeedIso, nocloudMetaData } from './seed-iso.js';
import { createStateDir, instanceId, runningPid, stateDir } from './state.js';

/** Everything `lkbuild run qemu` takes, parsed (options.ts) but not yet checked against the host. */
export interface RunOptions extends QemuOptions {
  networking?: Networking;
  publish?: PublishedPort[];
  disks?: DiskSpec[];
  /** --data / --data-file: user data on a NoCloud seed ISO. */
  userData?: Buffer;
  /** --imds FILE: user data served by the emulated EC2 metadata service. */
  imdsFile?: string;
  state?: string;
  detached?: boolean;
  timeoutSec?: number;
  log: (line: string) => void;
}

/** Pure: the state directory used when --state is not given: beside what is booted, named after its build. */
export function defaultStateDir(bootPath: string): string {
  return `${identifyOutput(bootPath)?.base ?? bootPath}-state`;
}

/** The node's name: what the state directory is named after (its local-hostname in user data). */
export function nodeName(bootPath: string): string {
  return basename(defaultStateDir(bootPath)).replace(/-state$/, '') || 'lkbuild';
}

/** Checks that the options agree with each other; pure. */
function checkCombinations(o: RunOptions): void {
  const mode = o.networking?.mode ?? 'user';
  if (o.publish?.length && mode !== 'user')
    throw optionError('--publish', `needs --networking user (QEMU forwards ports only on its user network), not ${mode}`);
  if (o.imdsFile && mode !== 'user') throw optionError('--imds', `needs --networking user, not ${mode}`);
  if (o.detached && o.timeoutSec !== undefined)
    throw optionError('--timeout', 'bounds a run in the foreground; a detached node runs until run stop');
  resolveFirmware(bootTarget(o.base), o);
}

/**
 * Boots a node under QEMU: validates every option against the host first (a usage error, and
 * nothing written, if one is wrong), then prepares the state directory, disks and seed, and
 * runs QEMU in the foreground or detached. Resolves with the exit status.
 */
export async function runNode(o: RunOptions): Promise<number> {
  checkCombinations(o);
  await prepareQemu(o); // what is booted and its firmware exist: checked before anything is written
  const s = stateDir(o.state ?? defaultStateDir(o.base));
  await checkPublishedPorts(o.publish ?? []);
  const disks = await planDisks(o.disks ?? [], s);
  if (o.imdsFile) {
    o.imdsFile = resolve(o.imdsFile);
    await access(o.imdsFile, constants.R_OK).catch(() => {
      throw optionError('--imds', `${o.imdsFile} cannot be read`);
    });
  }
  const pid = await runningPid(s);
  if (pid !== null) throw new LkError('run', `a node already runs in ${s.dir} (pid ${pid})`, `stop it first: lkbuild run stop ${s.dir}`);

  await createStateDir(s.dir);
  const id = await instanceId(s);
  await createDisks(disks);
  const seed = o.userData ? await writeSeed(s, o.userData, id, nodeName(o.base)) : [];
  if (o.imdsFile) await ensureImdsKey(s);
  const machine = o.machine ?? 'q35';
  const devices = [
    ...networkArgs({
      networking: o.networking ?? { mode: 'user' },
      publish: o.publish ?? [],
      machine,
      mac: instanceMac(id),
      imdsCommand: o.imdsFile ? imdsCommand(s, o.imdsFile) : undefined,
    }),
    ...diskArgs(disks, machine),
    ...seed.flatMap((file) => [
      '-drive',
      `if=none,id=seed,format=raw,readonly=on,file=${qemuValue(file)}`,
      '-device',
      `${virtioBlockDevice(machine)},drive=seed`,
    ]),
  ];
  const console = o.detached ? 'file' : o.interactive ? 'interactive' : 'stdio';
  const consolePipe = console === 'stdio' ? s.consolePipe : undefined;
  const inv = await prepareQemu({
    ...o,
    console,
    consoleLog: s.consoleLog,
    consolePipe,
    control: { qmpSocket: s.qmpSocket, pidFile: s.pidFile },
    devices,
  });
  if (o.detached) return startDetached(inv.command, inv.args, s, o.log);
  return runForeground(inv.command, inv.args, s, { timeoutSec: o.timeoutSec, log: o.log, consolePipe });
}

async function writeSeed(s: ReturnType<typeof stateDir>, userData: Buffer, id: string, hostname: string): Promise<string[]> {
  await writeSeedIso(s.seedIso, userData, nocloudMetaData(id, hostname));
  return [s.seedIso];
}
