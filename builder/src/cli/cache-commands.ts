import { LkError, usageError } from '../errors.js';
import { netDefaults } from '../net/defaults.js';
import { OciLayout, defaultCacheDir } from '../oci/layout.js';
import { Annotation, type Descriptor, type ImageManifest } from '../oci/media-types.js';
import { resolveCached } from '../oci/registry/cache-names.js';
import { parsePlatform } from '../oci/registry/platform.js';

import { parseCommandArgs as parse, seconds } from './args.js';
import { cacheUsage } from './cache-usage.js';
import { StatusLine } from './status-line.js';
import { formatBytes, TransferDisplay } from './transfer-display.js';

// Each verb loads what only it needs when it runs: the registry client (undici) for pull and
// push, tar-stream for import. A pull should not pay for loading the archive code, nor `ls`
// for the network.

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
    rows.push([
      name,
      m.digest.slice(0, 19),
      m.platform ? `${m.platform.os}/${m.platform.architecture}` : '-',
      formatBytes(await imageSize(layout, m)),
    ]);
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
  const timeoutMs = seconds(values.timeout, '--timeout', netDefaults.transferTimeoutMs / 1000) * 1000;
  const { pullImages } = await import('../oci/registry/pull.js');
  // All the images at once; each one's progress under its own name, on one status line.
  const status = values.quiet ? undefined : new StatusLine();
  const displays = positionals.map((ref) => (status ? new TransferDisplay(`pull ${ref}`, status) : undefined));
  const results = await pullImages(layout, positionals, { platform, timeoutMs, onEvent: (i, e) => displays[i]?.onEvent(e) }).finally(() => {
    for (const display of displays) display?.close();
  });
  // The pulled ones are printed (in the order given) even when another failed; the first failure is the error.
  for (const r of results) if (r.status === 'fulfilled') process.stdout.write(`${r.value.refName}\t${r.value.manifestDescriptor.digest}\n`);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
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
  const { cleanCache } = await import('../oci/registry/clean.js');
  const result = await cleanCache(openCache(), { minAgeMs: seconds(values['min-age'], '--min-age', 300) * 1000 });
  process.stdout.write(
    `removed ${result.removed} blobs and ${result.unpackedRemoved} unpacked layers (${formatBytes(result.freedBytes)}), kept ${result.kept}\n`,
  );
  return 0;
}

async function cacheImport(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { name: { type: 'string' }, platform: { type: 'string' } });
  if (positionals.length !== 1) throw usageError('cache import needs exactly one FILE');
  const { importArchive } = await import('../oci/registry/import.js');
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
  const format = values.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker') throw usageError('--format is oci or docker');
  const { exportImage } = await import('../oci/registry/export.js');
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
  const { pushImage } = await import('../oci/registry/push.js');
  const display = values.quiet ? undefined : new TransferDisplay(`push ${dest ?? ref}`);
  try {
    const result = await pushImage(layout, ref, dest, {
      timeoutMs: seconds(values.timeout, '--timeout', netDefaults.transferTimeoutMs / 1000) * 1000,
      onEvent: display?.onEvent,
    });
    process.stdout.write(`${result.ref}@${result.digest}\n`);
    process.stderr.write(`lkbuild: pushed ${result.uploaded} blobs, ${result.skipped} already present, ${result.mounted} mounted\n`);
  } finally {
    display?.close();
  }
  return 0;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ') + '\n').join('');
}
