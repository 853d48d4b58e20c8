/**
 * Follows an instance's serial console until the init's ready marker appears: both clouds
 * serve the console by polling, so this asks for what is new, prints it and waits a little.
 */
import { readFile } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { sleep } from '../net/retry.js';

export const READY_MARKER = 'lk-init: ready';

/** What `run aws` and `run gcp` share: the instance's name, user data and how to follow it. */
export interface InstanceRunOptions {
  name: string;
  dataFile?: string;
  /** Remove the instance afterwards, also when the wait fails. */
  rm: boolean;
  timeoutMs?: number;
  pollMs?: number;
  log: (line: string) => void;
  write: (text: string) => void;
  signal?: AbortSignal;
}

export interface ConsoleWatch {
  /** The console text that is new since the last call ('' when nothing is). */
  next(): Promise<string>;
  write(text: string): void;
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
  /** Names the instance in the timeout message. */
  instance: string;
}

export async function watchConsole(w: ConsoleWatch): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  let tail = '';
  for (;;) {
    const text = await w.next();
    if (text) {
      w.write(text);
      tail = (tail + text).slice(-4096);
      if (tail.includes(READY_MARKER)) return;
    }
    if (Date.now() > deadline) {
      throw new LkError(
        'cloud',
        `${w.instance} did not print "${READY_MARKER}" within ${Math.round(w.timeoutMs / 1000)}s`,
        'look at the console output above; raise --timeout for slow boots',
      );
    }
    await sleep(w.intervalMs, w.signal);
  }
}

/**
 * EC2 returns the latest console output as a whole each time (its last 64 KiB): what is new is
 * what extends the text seen before, or what follows the last 512 characters seen once the
 * window has moved on, or all of it when nothing matches.
 */
export function consoleDelta(seen: string, now: string): string {
  if (now.startsWith(seen)) return now.slice(seen.length);
  const TAIL = 512;
  if (seen.length >= TAIL) {
    const at = now.lastIndexOf(seen.slice(-TAIL));
    return at >= 0 ? now.slice(at + TAIL) : now;
  }
  // A short text: the longest end of it that starts the new one (cheap below TAIL characters).
  for (let n = Math.min(seen.length, now.length); n > 0; n--) if (now.startsWith(seen.slice(seen.length - n))) return now.slice(n);
  return now;
}

/** The --data-file's bytes (user data), or none. */
export async function readUserData(path: string | undefined, limit: number, cloud: string): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new LkError(
      'cloud',
      `cannot read --data-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'give a readable file of user data',
    );
  }
  if (data.length > limit)
    throw new LkError(
      'cloud',
      `--data-file ${path} is ${data.length} bytes; ${cloud} takes at most ${limit}`,
      'make the user data smaller',
    );
  return data;
}
