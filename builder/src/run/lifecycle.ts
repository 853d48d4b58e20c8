import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LkError } from '../errors.js';
import { ConsolePipe } from './console-pipe.js';
import { QmpClient } from './qmp.js';
import { runningPid, type StateDir } from './state.js';
import { isProcessAlive } from '../util/process.js';

/**
 * Starting, supervising and stopping QEMU. A node is stopped the way a machine is: the ACPI
 * power button first, ctrl-alt-del a little later (lkbuild's init and most Linux systems shut
 * down cleanly on it; QEMU runs with -no-reboot, so the restart ends it), and QEMU's `quit`
 * once the grace period is over.
 */

export const defaultGraceSec = 30;
const setpriv = '/usr/bin/setpriv';
const ctrlAltDelAfterMs = 2000;

/** A wait that does not keep the process alive: something else (the VM) always does while it matters. */
function grace(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false });
}

async function untilGone(pid: number): Promise<void> {
  while (isProcessAlive(pid)) await sleep(100);
}

/** Asks the node to power off; 'off' if it did within the grace period, 'quit' if QEMU had to be told to quit. */
export async function powerOff(s: StateDir, pid: number, graceMs: number, gone: Promise<void> = untilGone(pid)): Promise<'off' | 'quit'> {
  const qmp = await QmpClient.connect(s.qmpSocket, 5000).catch(() => null);
  let finished = false;
  const off = gone.then(() => (finished = true));
  try {
    if (qmp && graceMs <= 0) {
      // no grace: straight to quit
    } else if (qmp) {
      await qmp.execute('system_powerdown');
      const keys = ['ctrl', 'alt', 'delete'].map((k) => ({ type: 'qcode', data: k }));
      const cad = grace(ctrlAltDelAfterMs).then(() => (finished ? undefined : qmp.execute('send-key', { keys })));
      await Promise.race([off, cad.then(() => grace(Math.max(0, graceMs - ctrlAltDelAfterMs)))]);
    } else {
      process.kill(pid, 'SIGTERM'); // QEMU quits on SIGTERM
      await Promise.race([off, grace(graceMs)]);
    }
    if (finished) return 'off';
    if (qmp) await qmp.execute('quit');
    else process.kill(pid, 'SIGKILL');
    await Promise.race([off, grace(5000)]);
    if (!finished) process.kill(pid, 'SIGKILL');
    return 'quit';
  } finally {
    qmp?.close();
  }
}

/** `lkbuild run stop DIR`: 0 when the node powered off within the grace period. */
export async function stopNode(s: StateDir, graceSec: number, log: (line: string) => void): Promise<number> {
  const pid = await runningPid(s);
  if (pid === null)
    throw new LkError(
      'run',
      `no node runs in ${s.dir}`,
      'the state directory is the one given to run qemu --state (default: beside the image, NAME-state)',
    );
  log(`powering off the node in ${s.dir} (pid ${pid})`);
  const how = await powerOff(s, pid, graceSec * 1000);
  if (how === 'off') return 0;
  log(`the node did not power off within ${graceSec} s; QEMU was stopped`);
  return 1;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', (e) =>
      reject(new LkError('run', `cannot start ${child.spawnfile}: ${e.message}`, 'install the Debian package qemu-system-x86')),
    );
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Starts QEMU daemonized (it returns once the VM runs) and reports where to find it. */
export async function startDetached(command: string, args: string[], s: StateDir, log: (line: string) => void): Promise<number> {
  const child = spawn(command, [...args, '-daemonize'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const { code } = await exitOf(child);
  if (code !== 0) throw new LkError('run', `QEMU could not start the node (exit ${code ?? 'signal'}): ${stderr.trim()}`);
  const pid = await runningPid(s);
  log(`the node runs in the background (pid ${pid ?? '?'}); console: ${s.consoleLog}; stop it with: lkbuild run stop ${s.dir}`);
  return 0;
}

/**
 * Runs QEMU in the foreground, in a session of its own so that a ctrl-c at the terminal reaches
 * lkbuild alone, which stops the node cleanly (a second one stops it at once). Exit status: QEMU's
 * (0 when the guest powered off or restarted; non-zero on a QEMU error or a guest panic), 124
 * after --timeout, 128+N after signal N.
 */
export async function runForeground(
  command: string,
  args: string[],
  s: StateDir,
  o: { timeoutSec?: number; graceSec?: number; log: (line: string) => void; consolePipe?: string },
): Promise<number> {
  const pipe = o.consolePipe ? await ConsolePipe.create(o.consolePipe) : undefined;
  // setpriv (util-linux) makes the kernel kill QEMU should lkbuild die without stopping it
  // (SIGKILL, a crash): QEMU's own session protects it from the terminal's signals, not from that.
  const guarded = existsSync(setpriv) ? ([setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] as const) : ([command, args] as const);
  const child = spawn(guarded[0], guarded[1], { stdio: pipe ? ['ignore', 'inherit', 'inherit'] : 'inherit', detached: true });
  pipe?.connect(process.stdout, process.stdin);
  const exited = exitOf(child);
  const gone = exited.then(
    () => undefined,
    () => undefined,
  );
  let status: number | null = null;
  const stop = (code: number, graceMs: number) => {
    if (status !== null) {
      child.kill('SIGKILL');
      return;
    }
    status = code;
    if (child.pid) void powerOff(s, child.pid, graceMs, gone).catch(() => child.kill('SIGKILL'));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (status === null) o.log(`${signal}: powering the node off (again to stop it at once)`);
    stop(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143, (o.graceSec ?? defaultGraceSec) * 1000);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  const timer = o.timeoutSec
    ? setTimeout(() => {
        o.log(`--timeout: the node still ran after ${o.timeoutSec} s; stopping it`);
        stop(124, 0);
      }, o.timeoutSec * 1000)
    : null;
  try {
    const { code, signal } = await exited;
    if (status !== null) return status;
    if (signal) {
      o.log(`QEMU was killed by ${signal}`);
      return 128 + (constants.signals[signal] ?? 15);
    }
    if (code === 127 && guarded[0] === setpriv)
      throw new LkError('run', `cannot start ${command}`, 'install the Debian package qemu-system-x86');
    if (code !== 0) o.log(`QEMU exited with status ${code} (a QEMU error, or the guest panicked)`);
    return code ?? 1;
  } finally {
    if (timer) clearTimeout(timer);
    for (const sig of signals) process.off(sig, onSignal);
    await pipe?.close(process.stdin);
  }
}
