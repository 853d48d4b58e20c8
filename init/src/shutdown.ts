// Orderly shutdown: onshutdown bundles, stop services, kill the rest, sync, unmount, reboot(2).

import * as lk from 'lk';
import { drainAllLogs } from './logs.js';
import { markers } from './markers.js';
import { runToCompletion } from './phases.js';
import type { Services } from './services.js';
import { CONSOLE_FD, errorMessage, log, readText, sleep, uptime } from './sys.js';

export type ShutdownKind = 'poweroff' | 'reboot' | 'halt';

let inProgress = false;

export function shuttingDown(): boolean {
  return inProgress;
}

function unmountAll(): void {
  const mounts = (readText('/proc/mounts') ?? '').split('\n').filter(Boolean);
  const targets = mounts.map((l) => l.split(' ')[1]!).filter((t) => t !== '/');
  for (const target of targets.reverse()) {
    try {
      lk.umount(target.replace(/\\040/g, ' '), lk.MNT_DETACH);
    } catch {
      // busy or already gone with its parent: detached anyway
    }
  }
}

function killEverything(sig: number): void {
  try {
    lk.kill(-1, sig);
  } catch {
    // no other processes
  }
}

export async function shutdown(kind: ShutdownKind, services: Services | null, graceMs: number): Promise<void> {
  if (inProgress) return;
  inProgress = true;
  drainAllLogs(); // what services wrote before shutdown began is relayed before its marker
  log(markers.shutdown(uptime()));
  try {
    await runToCompletion('onshutdown');
  } catch (e) {
    log(`lk-init: onshutdown: ${errorMessage(e)}`);
  }
  try {
    if (services) await services.stopAll(graceMs);
  } catch (e) {
    log(`lk-init: stopping services: ${errorMessage(e)}`);
  }
  killEverything(lk.SIGTERM);
  await sleep(200);
  killEverything(lk.SIGKILL);
  await sleep(50);
  lk.sync();
  unmountAll();
  rebootNow(kind);
}

/** sync, then reboot(2): the end of shutdown(), and the whole of it when nothing ever started. */
export function rebootNow(kind: ShutdownKind): void {
  lk.sync();
  try {
    lk.drain(CONSOLE_FD); // the last console lines go out before the kernel's own
  } catch {
    // not a terminal
  }
  const cmd = kind === 'poweroff' ? lk.RB_POWER_OFF : kind === 'reboot' ? lk.RB_AUTOBOOT : lk.RB_HALT_SYSTEM;
  try {
    lk.reboot(cmd);
  } catch (e) {
    log(`lk-init: reboot(2) failed: ${errorMessage(e)}`);
  }
}
