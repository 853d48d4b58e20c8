// Thin I/O helpers over QuickJS's std/os and our lk module.

import * as std from 'std';
import * as os from 'os';
import * as lk from 'lk';

export const CONSOLE_FD = 1;

let debugEnabled = false;

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

let logTap: ((line: string) => void) | null = null;

/** Also hands every console line to `tap` (the remote syslog); a line it logs itself is not tapped. */
export function setLogTap(tap: (line: string) => void): void {
  logTap = tap;
}

/** One line on the console; never throws (the console may be gone). */
export function log(line: string): void {
  try {
    lk.writeString(CONSOLE_FD, line + '\n');
  } catch {
    // nowhere left to report it
  }
  const tap = logTap;
  if (!tap) return;
  logTap = null;
  try {
    tap(line);
  } catch {
    // forwarding is best effort; the console has the line
  } finally {
    logTap = tap;
  }
}

export function debugging(): boolean {
  return debugEnabled;
}

export function debug(line: string): void {
  if (debugEnabled) log(`lk-init: debug: [${lk.uptime().toFixed(3)}] ${line}`);
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.stack ? `${e.message}\n${e.stack}` : e.message;
  return String(e);
}

/** Runs `fn`, logging instead of propagating any exception: PID 1 must never die. */
export function guarded<A extends unknown[]>(what: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (e) {
      log(`lk-init: error in ${what}: ${errorMessage(e)}`);
    }
  };
}

/** Like guarded, for async work started from a callback. */
export function detach(what: string, work: Promise<unknown>): void {
  work.catch((e) => log(`lk-init: error in ${what}: ${errorMessage(e)}`));
}

export function uptime(): number {
  return lk.uptime();
}

export function nowMs(): number {
  return lk.uptime() * 1000;
}

/** Whole file as text, or null if it cannot be opened or read; /proc files (size 0) too. */
export function readText(path: string): string | null {
  return lk.readFile(path);
}

/** `length` bytes of the file at `offset`, or null if they cannot all be read (no medium, too short). */
export function readBytes(path: string, offset: number, length: number): Uint8Array | null {
  const f = std.open(path, 'rb');
  if (!f) return null;
  try {
    const buf = new ArrayBuffer(length);
    if (f.seek(offset, std.SEEK_SET) < 0 || f.read(buf, 0, length) !== length) return null;
    return new Uint8Array(buf);
  } finally {
    f.close();
  }
}

export function writeText(path: string, text: string): void {
  const errorObj: { errno?: number } = {};
  const f = std.open(path, 'w', errorObj);
  if (!f) throw new Error(`open ${path}: ${std.strerror(errorObj.errno ?? 0)}`);
  try {
    f.puts(text);
    f.flush();
  } finally {
    f.close();
  }
}

export function isDir(path: string): boolean {
  const [st, err] = os.stat(path);
  return err === 0 && (st.mode & os.S_IFMT) === os.S_IFDIR;
}

export function exists(path: string): boolean {
  return os.lstat(path)[1] === 0;
}

/** The target of the symlink at `path`, or null if it is not one (or is missing). */
export function readLink(path: string): string | null {
  const [target, err] = os.readlink(path);
  return err === 0 ? target : null;
}

/** Directory entries without . and .., sorted; [] if the directory is missing. */
export function listDir(path: string): string[] {
  const [names, err] = os.readdir(path);
  if (err !== 0) return [];
  return names.filter((n) => n !== '.' && n !== '..').sort();
}

export function mkdirp(path: string, mode = 0o755): void {
  let prefix = '';
  for (const part of path.split('/')) {
    if (part === '') continue;
    prefix += '/' + part;
    if (isDir(prefix)) continue;
    const rc = os.mkdir(prefix, mode);
    if (rc < 0 && !isDir(prefix)) throw new Error(`mkdir ${prefix}: ${std.strerror(-rc)}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    os.setTimeout(resolve, ms);
  });
}
