import { LkError } from '../errors.js';

/** One problem in a build file, at a 1-based line and column. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}

/** Orders diagnostics by file (in the order first seen), then position, and drops exact repeats. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of diagnostics) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  const seen = new Set<string>();
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => fileOrder.get(a.d.file)! - fileOrder.get(b.d.file)! || a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i)
    .map(({ d }) => d)
    .filter((d) => {
      const key = formatDiagnostic(d);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** Every problem found in the build files at once; the message lists them as "file:line:col: message". */
export class ConfigError extends LkError {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    super('config', sorted.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = sorted;
  }
}
