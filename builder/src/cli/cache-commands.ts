import { LkError, usageError } from '../errors.js';
import { OciLayout, defaultCacheDir } from '../oci/layout.js';
import { Annotation, type Descriptor, type ImageManifest } from '../oci/media-types.js';
import { resolveCached } from '../oci/registry/cache-names.js';
import { cleanCache } from '../oci/registry/clean.js';
import { exportImage, type ArchiveFormat } from '../oci/registry/export.js';
import { importArchive } from '../oci/registry/import.js';
import { parsePlatform } from '../oci/registry/platform.js';
import type { TransferEvent } from '../oci/registry/progress-events.js';
import { pullImage } from '../oci/registry/pull.js';
import { pushImage } from '../oci/registry/push.js';

import { parseCommandArgs as parse, seconds } from './args.js';
import { cacheUsage } from './cache-usage.js';

export { cacheUsage };

function openCache(): OciLayout {
  return new OciLayout(defaultCacheDir());
}


/** `lkbuild cache <verb> ...` */
export async function cacheCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const handler = verb ? cacheVerbs[verb] : undefined;
  if (!handler) throw usageError(verb ? `unknown cache command "${verb}"` : 'cache needs a command');
  return handler(rest);
}

const cacheVerbs: Record<string, (args: string[]) => Promise<number>> = {
  ls: cacheLs,
  pull: cachePull,
  rm: cacheRm,
  clean: cacheClean,
  import: cacheImport,
  export: cacheExport,
};

async function cacheLs(args: string[]): Promise<number> {
  const { values } = parse(args, { quiet: { type: 'boolean', short: 'q' } });
  const layout = openCache();
  const rows: string[][] = [];
  for (const m of (await layout.readIndex()).manifests) {
    const name = m.annotations?.[Annotation.refName] ?? '(untagged)';
    if (values.quiet) {
      process.stdout.write(`${name}\n`);
      continue;
    }
    rows.push([name, m.digest.slice(0, 19), m.platform ? `${m.platform.os}/${m.platform.architecture}` : '-', formatBytes(await imageSize(layout, m))]);
  }
  if (!values.quiet) process.stdout.write(table([['REFERENCE', 'DIGEST', 'PLATFORM', 'SIZE'], ...rows]));
  return 0;
}

async function imageSize(layout: OciLayout, m: Descriptor): Promise<number> {
  try {
    const manifest = await layout.readJsonBlob<ImageManifest>(m.digest);
    return m.size + (manifest.config?.size ?? 0) + (manifest.layers ?? []).reduce((n, l) => n + l.size, 0);
  } catch {
    return m.size;
  }
}

async function cachePull(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    platform: { type: 'string' },
    timeout: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (positionals.length === 0) throw usageError('cache pull needs at least one image reference');
  const layout = openCache();
  const platform = values.platform ? parsePlatform(values.platform) : undefined;
  for (const ref of positionals) {
    const display = values.quiet ? undefined : new TransferDisplay(`pull ${ref}`);
    try {
      const image = await pullImage(layout, ref, { platform, timeoutMs: seconds(values.timeout, '--timeout', 600) * 1000, onEvent: display?.onEvent });
      display?.finish();
      process.stdout.write(`${image.refName}\t${image.manifestDescriptor.digest}\n`);
    } catch (e) {
      display?.finish(false);
      throw e;
    }
  }
  return 0;
}

async function cacheRm(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length === 0) throw usageError('cache rm needs at least one image reference');
  const layout = openCache();
  for (const ref of positionals) {
    const cached = await resolveCached(layout, ref);
    if (!cached || !(await layout.untag(cached.refName))) {
      throw new LkError('cache', `${ref} is not in the local cache (${layout.root})`, 'list cached images with: lkbuild cache ls');
    }
    process.stdout.write(`removed ${cached.refName}\n`);
  }
  return 0;
}

async function cacheClean(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'min-age': { type: 'string' } });
  if (positionals.length > 0) throw usageError('cache clean takes no arguments');
  const result = await cleanCache(openCache(), { minAgeMs: seconds(values['min-age'], '--min-age', 300) * 1000 });
  process.stdout.write(`removed ${result.removed} blobs (${formatBytes(result.freedBytes)}), kept ${result.kept}\n`);
  return 0;
}

async function cacheImport(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { name: { type: 'string' }, platform: { type: 'string' } });
  if (positionals.length !== 1) throw usageError('cache import needs exactly one FILE');
  const names = await importArchive(openCache(), positionals[0], {
    name: values.name,
    platform: values.platform ? parsePlatform(values.platform) : undefined,
  });
  for (const n of names) process.stdout.write(`${n}\n`);
  return 0;
}

async function cacheExport(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { format: { type: 'string' } });
  if (positionals.length !== 2) throw usageError('cache export needs REF and FILE');
  const format = (values.format ?? 'oci') as ArchiveFormat;
  if (format !== 'oci' && format !== 'docker') throw usageError('--format is oci or docker');
  const name = await exportImage(openCache(), positionals[0], positionals[1], format);
  process.stdout.write(`${name}\t${positionals[1]}\n`);
  return 0;
}

/** `lkbuild push REF [DEST]` */
export async function pushCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { timeout: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } });
  if (positionals.length < 1 || positionals.length > 2) throw usageError('push needs REF and optionally DEST');
  const [ref, dest] = positionals;
  const layout = openCache();
  const display = values.quiet ? undefined : new TransferDisplay(`push ${dest ?? ref}`);
  try {
    const result = await pushImage(layout, ref, dest, { timeoutMs: seconds(values.timeout, '--timeout', 600) * 1000, onEvent: display?.onEvent });
    display?.finish();
    process.stdout.write(`${result.ref}@${result.digest}\n`);
    process.stderr.write(`lkbuild: pushed ${result.uploaded} blobs, ${result.skipped} already present, ${result.mounted} mounted\n`);
  } catch (e) {
    display?.finish(false);
    throw e;
  }
  return 0;
}

/** Lets the lead show pulls triggered by a build the same way. */
export function transferDisplay(title: string): { onEvent: (e: TransferEvent) => void; finish: (ok?: boolean) => void } {
  return new TransferDisplay(title);
}

/**
 * Progress on stderr: on a terminal one status line redrawn in place (at most 10 times a
 * second); otherwise one quiet line per finished blob, for CI logs.
 */
class TransferDisplay {
  private readonly tty = process.stderr.isTTY === true;
  private total = 0;
  private done = 0;
  private blobs = 0;
  private blobsDone = 0;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(private readonly title: string) {}

  readonly onEvent = (e: TransferEvent): void => {
    switch (e.type) {
      case 'resolved':
        this.blobs = e.blobs;
        if (!this.tty) this.line(`${this.title}: ${e.digest} (${e.blobs} blobs)`);
        break;
      case 'blob-start':
        this.total += e.size;
        break;
      case 'blob-bytes':
        this.done += e.bytes;
        break;
      case 'blob-done':
        this.blobsDone++;
        if (!this.tty) this.line(`${this.title}: ${short(e.digest)} ${e.mounted ? 'mounted' : e.skipped ? 'already present' : 'done'} (${formatBytes(e.size)})`);
        break;
      case 'done':
        break;
    }
    if (this.tty) this.draw(false);
  };

  /** Ends the display; the summary line only after success (the error message says the rest). */
  finish(ok = true): void {
    if (this.tty) {
      if (ok) this.draw(true);
      process.stderr.write(ok ? '\n' : '\r\x1b[K');
    } else if (ok) {
      this.line(`${this.title}: ${formatBytes(this.done)} in ${((Date.now() - this.started) / 1000).toFixed(1)}s`);
    }
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    const blobs = this.blobs ? `${this.blobsDone}/${this.blobs} blobs` : 'resolving';
    process.stderr.write(`\r\x1b[K${this.title}: ${blobs}, ${formatBytes(this.done)}/${formatBytes(this.total)} ${formatBytes(rate)}/s`);
  }

  private line(text: string): void {
    process.stderr.write(`lkbuild: ${text}\n`);
  }
}

function short(digest: string): string {
  return digest.slice(0, 19);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ') + '\n').join('');
}
