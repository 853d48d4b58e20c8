// Kernel command line -> the lk.* options the init understands. Pure.

import { isSpace, words } from './words.js';

export interface BootOptions {
  /** lk.poweroff=ready[+<s>]: power off right after `lk-init: ready`, or <s> seconds later (tests, demos). */
  poweroffAfterReadyMs: number | undefined;
  /** lk.debug: verbose init logging. */
  debug: boolean;
  /** lk.console-logs: service output also goes to the console. */
  consoleLogs: boolean;
  /** lk.shutdown-grace=<ms>: wait between SIGTERM and SIGKILL at shutdown. */
  shutdownGraceMs: number;
}

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** Splits a command line into key -> value ("" for bare flags); later keys win. */
export function parseCmdline(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const word of tokenize(text)) {
    const eq = word.indexOf('=');
    if (eq < 0) options.set(word, '');
    else options.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return options;
}

/** Whitespace-separated words; double quotes group (as the kernel does). */
function tokenize(text: string): string[] {
  // Without quotes a native split does it; the loop below costs QuickJS hundreds of
  // instructions a character: half the cmdline step (0.16 M instructions) under TCG.
  if (text.indexOf('"') < 0) return words(text);
  const found: string[] = [];
  let current = '';
  let quoted = false;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && isSpace(text.charCodeAt(i))) {
      if (inWord) found.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) found.push(current);
  return found;
}

function flag(options: Map<string, string>, key: string): boolean {
  const v = options.get(key);
  return v !== undefined && v !== '0' && v !== 'false' && v !== 'no';
}

function poweroffDelay(value: string | undefined): number | undefined {
  const m = /^ready(?:\+(\d+(?:\.\d+)?))?$/.exec(value ?? '');
  return m ? Math.round(Number(m[1] ?? 0) * 1000) : undefined;
}

/** The lk.* options of a command line, given as text or as parseCmdline's map. */
export function bootOptions(cmdline: string | Map<string, string>): BootOptions {
  const options = typeof cmdline === 'string' ? parseCmdline(cmdline) : cmdline;
  const grace = Number(options.get('lk.shutdown-grace'));
  return {
    poweroffAfterReadyMs: poweroffDelay(options.get('lk.poweroff')),
    debug: flag(options, 'lk.debug'),
    consoleLogs: flag(options, 'lk.console-logs'),
    shutdownGraceMs: Number.isFinite(grace) && grace >= 0 && options.has('lk.shutdown-grace') ? grace : DEFAULT_SHUTDOWN_GRACE_MS,
  };
}
