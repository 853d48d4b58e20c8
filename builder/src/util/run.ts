import type { Readable } from 'node:stream';

/**
 * Running other programs. Everything lkbuild runs to completion goes through runCaptured
 * (execa underneath); only streams that flow through a program while it runs (decompressors,
 * the QEMU console) spawn it themselves.
 */

export interface RunOptions {
  /** Written (or streamed) to the program's stdin, which is then closed. */
  input?: string | Buffer | Readable;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** false: the program sees only `env`, not this process's environment. Default true. */
  extendEnv?: boolean;
  timeoutMs?: number;
  /** Also collect what the program writes to file descriptor 3 (gpgv's status lines). */
  fd3?: boolean;
}

export interface RunResult {
  /** undefined when the program did not run to an exit: not installed, killed, timed out. */
  exitCode?: number;
  signal?: string;
  /** The program does not exist (ENOENT): the caller names the package to install. */
  notInstalled: boolean;
  timedOut: boolean;
  stdout: Buffer;
  stderr: string;
  /** stdout and stderr, interleaved as they were written. */
  all: string;
  fd3: string;
  /** Why the program could not be run or was stopped, when it was. */
  failure?: string;
}

/**
 * Runs `file` to its end with its output captured. It never throws for how the program ended:
 * the caller says what an exit code means, in its own LkError.
 */
export async function runCaptured(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa'); // ~60 modules: loaded by the first command that runs one, not by every import
  const r = await execa(file, args, {
    input: opts.input,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    timeout: opts.timeoutMs,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.fd3 ? (['pipe'] as const) : [])],
    encoding: 'buffer',
    stripFinalNewline: false,
    all: true,
    reject: false,
  });
  const text = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString('utf8') : '');
  const started = r.exitCode !== undefined || r.signal !== undefined;
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    notInstalled: r.code === 'ENOENT',
    timedOut: r.timedOut,
    stdout: r.stdout instanceof Uint8Array ? Buffer.from(r.stdout) : Buffer.alloc(0),
    stderr: text(r.stderr),
    all: text(r.all),
    fd3: opts.fd3 ? text(r.stdio[3]) : '',
    failure: r.failed && (!started || r.timedOut) ? r.shortMessage : undefined,
  };
}
