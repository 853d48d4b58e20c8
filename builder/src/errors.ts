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
