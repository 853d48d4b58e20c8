/**
 * Every failure a user can cause or fix is an LkError: a message that says what went wrong and,
 * where we know one, a hint that says what to do. Only the CLI turns these into output and exit codes.
 */
export class LkError extends Error {
  readonly hint?: string;
  /** Stable machine-readable category, e.g. 'config', 'registry', 'cache', 'build'. */
  readonly kind: string;

  constructor(kind: string, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LkError';
    this.kind = kind;
    this.hint = hint;
  }
}

export function isLkError(e: unknown): e is LkError {
  return e instanceof LkError;
}

const fileSystemProblems: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EIO: 'input/output error',
};

/**
 * Turns a failed write into an LkError that names what was being written and where (Node's own
 * message for a failed write names neither); any other error passes through unchanged.
 */
export function writeError(e: unknown, what: string, path: string, hint: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const problem = code ? fileSystemProblems[code] : undefined;
  if (!problem) return e;
  return new LkError('io', `cannot write ${what} ${path}: ${problem}`, hint, { cause: e });
}
