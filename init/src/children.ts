// Child processes: spawning, reaping every zombie, and the signals PID 1 handles.

import * as os from 'os';
import * as lk from 'lk';
import { debug, guarded } from './sys.js';

export interface Child {
  pid: number;
  /** Resolves with the exit status (or 128+signal) once reaped. */
  exit: Promise<number>;
}

const waiters = new Map<number, (code: number) => void>();
/** Recently reaped processes nobody waited for, so a late adopt() still gets the code. */
const orphans = new Map<number, number>();
const ORPHANS_KEPT = 64;
const signalHandlers = new Map<number, () => void>();

function reapAll(): void {
  for (const { pid, code } of lk.reap()) {
    const resolve = waiters.get(pid);
    if (resolve) {
      waiters.delete(pid);
      resolve(code);
    } else {
      debug(`reaped orphan pid=${pid} code=${code}`);
      orphans.set(pid, code);
      if (orphans.size > ORPHANS_KEPT) orphans.delete(orphans.keys().next().value!);
    }
  }
}

/**
 * Blocks SIGCHLD and the given signals and routes them through a signalfd
 * in the event loop (no race with select, no async-signal-safety issues).
 * The signalfd's read handler also keeps the event loop alive forever.
 */
export function handleSignals(handlers: Map<number, () => void>): void {
  for (const [sig, fn] of handlers) signalHandlers.set(sig, guarded(`signal ${sig}`, fn));
  const fd = lk.signalfd([lk.SIGCHLD, ...handlers.keys()]);
  os.setReadHandler(
    fd,
    guarded('signal handling', () => {
      for (const sig of lk.readSignals(fd)) {
        if (sig === lk.SIGCHLD) reapAll();
        else signalHandlers.get(sig)?.();
      }
      reapAll(); // SIGCHLDs coalesce; reaping is cheap
    }),
  );
}

export function spawn(argv: string[], fds: { stdin?: number; stdout?: number; stderr?: number }): Child {
  const pid = lk.spawn(argv, fds);
  orphans.delete(pid); // a recycled pid
  // Registered before the event loop can run the reaper, so no exit is missed.
  const exit = new Promise<number>((resolve) => waiters.set(pid, resolve));
  return { pid, exit };
}

/**
 * The exit of a process that is not our child yet but will be reparented to
 * us (a container whose `lk-run create` has exited).
 */
export function adopt(pid: number): Promise<number> {
  const code = orphans.get(pid);
  if (code !== undefined) {
    orphans.delete(pid);
    return Promise.resolve(code);
  }
  return new Promise<number>((resolve) => waiters.set(pid, resolve));
}
