// The boot as a sequence of steps: an exception in one is logged and the boot carries on,
// because PID 1 must never stop halfway (no services, no lkctl, no shutdown).

import { debug, debugging, errorMessage, log, uptime } from './sys.js';

let failing = new Set<string>();

/**
 * lk.test-throw=<step>[,<step>...]: those steps throw before they do anything, so boot tests
 * can prove that the rest of the boot still runs. Step names: see the calls to step().
 */
export function setTestThrows(value: string | undefined): void {
  failing = new Set((value ?? '').split(',').filter(Boolean));
}

/** Throws if a test asked this step to fail. */
export function testThrowPoint(name: string): void {
  if (failing.has(name)) throw new Error(`lk.test-throw: ${name} fails on purpose`);
}

/** Thrown by a step the boot cannot go on without; `message` is the console line to print. */
export class BootStop extends Error {}

/**
 * A step the boot cannot go on without (the root): on failure, its one console line, then
 * `stop` (power off); nothing after it runs and nothing falls back. Returns whether it succeeded.
 */
export async function stepOrStop(name: string, fn: () => Promise<void>, stop: () => void): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    log(e instanceof BootStop ? e.message : `lk-init: ${name} failed: ${errorMessage(e)}`);
    stop();
    return false;
  }
}

function report(name: string, e: unknown): void {
  log(`lk-init: error in ${name}: ${errorMessage(e)}; carrying on`);
}

/** Runs one boot step; an exception is logged, never propagated. */
export function step(name: string, fn: () => void): void {
  const started = debugging() ? uptime() : null;
  try {
    testThrowPoint(name);
    fn();
  } catch (e) {
    report(name, e);
  }
  if (started !== null) timed(name, started);
}

/** With lk.debug, each step's guest time: where the init's share of the boot goes. */
function timed(name: string, started: number): void {
  debug(`step ${name}: ${((uptime() - started) * 1000).toFixed(1)} ms`);
}

/** step() for asynchronous work the boot waits for. */
export async function stepAsync(name: string, fn: () => Promise<void>): Promise<void> {
  const started = debugging() ? uptime() : null;
  try {
    testThrowPoint(name);
    await fn();
  } catch (e) {
    report(name, e);
  }
  if (started !== null) timed(name, started);
}
