/**
 * The progress of a recipe's build script, for a status line while it runs (a kernel compile
 * takes minutes and says nothing: the kernel recipe runs make -s). It is read from the outside,
 * so no recipe has to report anything: the objects (*.o) that have appeared in the script's work
 * directory, compile lines in its output (kbuild's "  CC      kernel/fork.o") where it prints
 * them, and the command it is running (zx echoes each as "$ make ..."). The total is the count
 * the recipe's last build ended with, when there was one.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A compile line as kbuild and similar build systems print it without -s. */
const compileLine = /^\s*(CC|CXX|AS|HOSTCC)(\s+\[M\])?\s+\S+\.o\s*$/;

export class ScriptProgress {
  private compiled = 0;
  private found = 0;
  private step?: string;
  private partial = '';

  /** `lastObjects`: what the recipe's previous build ended with, for a total. */
  constructor(
    readonly recipe: string,
    private readonly started: number,
    private readonly lastObjects?: number,
  ) {}

  /** Feeds output as it comes, in chunks that may split lines. */
  output(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.outputLine(line);
  }

  private outputLine(line: string): void {
    if (compileLine.test(line)) this.compiled++;
    else if (line.startsWith('$ ')) this.step = commandSummary(line.slice(2));
  }

  /** How many objects the work directory holds now. */
  foundObjects(n: number): void {
    this.found = n;
  }

  /** Objects made so far: files found or lines seen, whichever tells more. */
  objects(): number {
    return Math.max(this.compiled, this.found);
  }

  /** "recipe kernel: 1234/~2100 objects, 3m12s, make bzImage modules". */
  render(now: number): string {
    const n = this.objects();
    const total = this.lastObjects ? `/~${this.lastObjects}` : '';
    const parts = [`${this.recipe}:`, n || total ? `${n}${total} objects,` : '', formatElapsed((now - this.started) / 1000)];
    return `${parts.filter(Boolean).join(' ')}${this.step ? `, ${this.step}` : ''}`;
  }
}

/** A command line without options, assignments and paths: "make -C /src O=/b -j2 bzImage" -> "make bzImage". */
export function commandSummary(command: string): string {
  const [program = '', ...args] = command.trim().split(/\s+/);
  const kept = args.filter((a) => !a.startsWith('-') && !a.includes('=') && !a.includes('/') && !a.startsWith("$'"));
  return [program.slice(program.lastIndexOf('/') + 1), ...kept].join(' ').slice(0, 60);
}

/** "42s", "3m05s", "1h02m". */
export function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The *.o files below `dir`, symlinks not followed (a kernel build tree links back to the whole
 * source tree). A few thousand entries: milliseconds.
 */
export async function countObjects(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let n = 0;
  for (const e of entries) {
    if (e.isDirectory()) n += await countObjects(join(dir, e.name));
    else if (e.isFile() && e.name.endsWith('.o')) n++;
  }
  return n;
}
