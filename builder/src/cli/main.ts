import { isLkError, LkError, usageError } from '../errors.js';
import { formatNames, verityFormatNames } from '../formats/index.js';
import { parseCommandArgs as parse } from './args.js';
import { cacheUsage } from './cache-usage.js';
import { cloudUsage } from './cloud-usage.js';
import { runUsage } from './run-usage.js';
import type { TransferEvent } from '../oci/registry/progress-events.js';
import type { TransferDisplay as Display } from './transfer-display.js';

// Commands load their modules on first use: a `cache pull` should not pay for the YAML
// schema compiler, nor `validate` for the registry client.

const usage = `usage: lkbuild <command> [options]

commands:
  build [options] FILE.yml...     build a node image from one or more build files (merged in order)
      -f, --format FMT              output format, repeatable (default kernel+initrd; available: ${formatNames.join(', ')})
      -o, --dir DIR                 output directory (default .)
      -n, --name NAME               output name (default: first file's base name)
      --compression gzip|zstd|none  the initrd's compression (default gzip, on every core)
      --dry-run                     print the merged build file and stop
      -v, --verbose                 show image build output
      --no-sbom                     do not write NAME.spdx.json (the SPDX 2.3 SBOM) beside the outputs
      --sign-key KEY --sign-cert CERT
                                    sign the UKI of every EFI format for Secure Boot (PEM, RSA, unencrypted)
      --verity                      a dm-verity hash tree for the squashfs root, its root hash on the kernel
                                    command line (${verityFormatNames.join(', ')}; disks get a root partition)
  validate FILE.yml...            check build files and print the merged result
${runUsage}  pkg build DIR                   build the image recipe in DIR into the cache and print its reference
${cloudUsage}${cacheUsage}`;

async function cmdBuild(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: 'string', short: 'f', multiple: true },
    dir: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
    'dry-run': { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
    compression: { type: 'string' },
    'sign-key': { type: 'string' },
    'sign-cert': { type: 'string' },
    'no-sbom': { type: 'boolean' },
    verity: { type: 'boolean' },
  });
  if (positionals.length === 0) throw usageError('build needs at least one build file');
  const { 'sign-key': key, 'sign-cert': cert } = values;
  if (!key !== !cert) throw usageError(key ? '--sign-key needs --sign-cert' : '--sign-cert needs --sign-key');
  const { parseInitrdCompression } = await import('../archive/compress.js');
  const compression = values.compression === undefined ? undefined : parseInitrdCompression(values.compression);
  if (values['dry-run']) return cmdValidate(positionals);
  const started = Date.now();
  const [{ build }, { TransferDisplay }, { StatusLine }, { StageClock, formatStages }] = await Promise.all([
    import('../build.js'),
    import('./transfer-display.js'),
    import('./status-line.js'),
    import('../util/stage-clock.js'),
  ]);
  // One status line for the build: pulls and recipe scripts draw on it, every other line clears it.
  const status = new StatusLine();
  const log = (line: string) => status.line(line);
  // Registry images are pulled side by side: each one's progress under its own name.
  const pulls = new Map<string, Display>();
  const onPull = (ref: string, e: TransferEvent) => {
    let display = pulls.get(ref);
    if (!display) pulls.set(ref, (display = new TransferDisplay(`pull ${ref}`, status)));
    display.onEvent(e);
  };
  const verboseStage = (stage: string, seconds: number, detail?: string) =>
    log(`${stage} ${seconds.toFixed(2)}s${detail ? ` (${detail})` : ''}`);
  const clock = new StageClock(values.verbose ? verboseStage : undefined);
  let outputs: string[];
  try {
    ({ outputs } = await build({
      files: positionals,
      formats: values.format ?? ['kernel+initrd'],
      dir: values.dir,
      name: values.name,
      log,
      onPull,
      onProgress: (line) => status.update(line),
      verbose: values.verbose,
      compression,
      sign: key && cert ? { key, cert } : undefined,
      sbom: !values['no-sbom'],
      verity: values.verity,
      clock,
    }));
  } finally {
    for (const display of pulls.values()) display.close();
    status.clear();
  }
  for (const o of outputs) process.stdout.write(`${o}\n`);
  log(`stages: ${formatStages(clock.stages())}`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return 0;
}

async function cmdValidate(files: string[]): Promise<number> {
  if (files.length === 0) throw usageError('validate needs at least one build file');
  const { buildSpecToYaml, loadBuildFiles } = await import('../config/index.js');
  process.stdout.write(buildSpecToYaml(await loadBuildFiles(files)));
  return 0;
}

async function cmdPkg(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parse(rest, { verbose: { type: 'boolean', short: 'v' } });
  if (verb !== 'build' || positionals.length !== 1) throw usageError('usage: lkbuild pkg build DIR');
  const [{ OciLayout, defaultCacheDir }, { ensureRecipeImage }, { sourceDateEpoch }, { StatusLine }] = await Promise.all([
    import('../oci/layout.js'),
    import('../pkg/build-recipe.js'),
    import('../build.js'),
    import('./status-line.js'),
  ]);
  const layout = new OciLayout(defaultCacheDir());
  const status = new StatusLine();
  const image = await ensureRecipeImage(positionals[0], {
    layout,
    sourceDateEpoch: sourceDateEpoch(),
    log: (line) => status.line(line),
    onProgress: (line) => status.update(line),
    verbose: values.verbose,
  }).finally(() => status.clear());
  process.stdout.write(`${image.refName}\n`);
  return 0;
}

const commands: Record<string, (args: string[]) => Promise<number>> = {
  build: cmdBuild,
  validate: cmdValidate,
  run: async ([target, ...rest]) =>
    target === 'aws' || target === 'gcp'
      ? (await import('./cloud-commands.js')).runCloud(target, rest)
      : (await import('./run-command.js')).runCommand(target === undefined ? [] : [target, ...rest]),
  pkg: cmdPkg,
  cache: async (args) => (await import('./cache-commands.js')).cacheCommand(args),
  push: async ([first, ...rest]) =>
    first === 'aws' || first === 'gcp'
      ? (await import('./cloud-commands.js')).pushCloud(first, rest)
      : (await import('./cache-commands.js')).pushCommand(first === undefined ? [] : [first, ...rest]),
};

/**
 * A reader that goes away (`lkbuild cache ls | head`) ends the command quietly with 141, as a
 * Unix tool killed by SIGPIPE would; Node would otherwise throw from the write.
 */
function quitWhenStdoutCloses(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(141);
  });
}

export async function main(argv: string[]): Promise<number> {
  quitWhenStdoutCloses();
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return command ? 0 : 2;
  }
  const run = commands[command];
  try {
    if (!run) throw usageError(`unknown command "${command}"`);
    return await run(args);
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (isLkError(e) && e.kind === 'usage') {
    // The message (which names the option) and its hint first, then the usage to fix it with.
    process.stderr.write(`lkbuild: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}\n${usage}`);
    return 2;
  }
  if (isLkError(e)) {
    process.stderr.write(`lkbuild: error: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    return 1;
  }
  process.stderr.write(`lkbuild: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  return 70;
}

export { LkError };
