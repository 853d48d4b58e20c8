/**
 * What an error is about: which part of the pipeline met it. Stable and machine-readable; the CLI
 * exits 2 for 'usage' (and prints the usage) and 1 for every other kind.
 */
export type ErrorKind =
  | 'usage' // the command line
  | 'config' // build files
  | 'recipe' // image recipes (images/*/build.yml)
  | 'reference' // an image reference
  | 'registry'
  | 'image' // an image's content: a kernel without its binary, say
  | 'import' // `cache import` archives
  | 'cache' // the local OCI layout
  | 'oci' // OCI data: digests
  | 'layer' // layer archives
  | 'archive' // compressed data: gzip, xz, zstd streams
  | 'debian' // the Debian archive and its packages
  | 'build' // assembling or archiving the node
  | 'format' // output formats
  | 'tool' // host tools lkbuild runs
  | 'sign' // signing keys and certificates (--sign-key, --sign-cert)
  | 'io' // the build host's file system
  | 'run' // `lkbuild run`
  | 'cloud'; // `lkbuild push aws|gcp`, `run aws|gcp`: credentials and cloud APIs

/**
 * Every failure a user can cause or fix is an LkError: a message that says what went wrong and,
 * where we know one, a hint that says what to do. Only the CLI turns these into output and exit codes.
 *
 * Hints are one style: lower case, no final full stop, saying what to do ("set optional: true if
 * the file may be absent"), or what was expected ("expected ARCH or OS/ARCH[/VARIANT]").
 */
export class LkError extends Error {
  readonly hint?: string;
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LkError';
    this.kind = kind;
    this.hint = hint;
  }
}

/** A command line that is wrong: the CLI prints the message and the usage, and exits 2. */
export function usageError(message: string): LkError {
  return new LkError('usage', message);
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
