import { basename, extname, join, resolve } from 'node:path';
import type { InitrdCompression } from './archive/compress.js';
import { loadBuildFiles, type BuildSpec } from './config/index.js';
import { assembleNode } from './assemble/node.js';
import { resolveImages } from './assemble/resolve-images.js';
import { Spool } from './fs/spool.js';
import { UnpackedLayers } from './oci/unpacked-layers.js';
import { AtomicOutputs } from './formats/atomic-output.js';
import { CompressedRoot } from './formats/compressed-root.js';
import { clashingFormats, formatNames, outputFormat, outputPath, verityFormatNames, type OutputFormat } from './formats/index.js';
import { RootImage } from './formats/root-image.js';
import { requireTool } from './util/host-tool.js';
import { OciLayout, defaultCacheDir } from './oci/layout.js';
import { LkError } from './errors.js';
import { SBOM_SUFFIX, nodeSbom } from './trust/node-sbom.js';
import { UkiSigner, loadSigningKey, type SigningKey } from './trust/sign.js';
import type { TransferEvent } from './oci/registry/progress-events.js';
import { StageClock } from './util/stage-clock.js';

export interface BuildOptions {
  files: string[];
  formats: string[];
  /** Output name; defaults to the first build file's base name. */
  name?: string;
  dir?: string;
  cacheDir?: string;
  sourceDateEpoch?: number;
  log?: (line: string) => void;
  /** Progress of the pull of `ref` (registry images are pulled side by side). */
  onPull?: (ref: string, event: TransferEvent) => void;
  /** A status line while a recipe's build script runs (the kernel compile). */
  onProgress?: (status: string) => void;
  verbose?: boolean;
  /** The initrd's compression (default gzip). */
  compression?: InitrdCompression;
  /** --sign-key/--sign-cert: PEM files to sign the UKI of every EFI output with. */
  sign?: { key: string; cert: string };
  /** Write NAME.spdx.json beside the outputs (default true; --no-sbom). */
  sbom?: boolean;
  /** --verity: a dm-verity hash tree for the root image of kernel+squashfs and the UKI disk formats. */
  verity?: boolean;
  /** Times each stage; the caller reads `stages()` at the end. */
  clock?: StageClock;
}

export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

export function outputName(files: string[], name?: string): string {
  return name ?? basename(files[0], extname(files[0]));
}

/** Checks the signing key and certificate, and that some requested format boots with UEFI and so has a UKI to sign. */
async function signingKeyFor(sign: { key: string; cert: string }, formats: OutputFormat[]): Promise<SigningKey> {
  const efi = formats.find((f) => f.firmware.includes('uefi'));
  if (!efi) {
    throw new LkError(
      'usage',
      `--sign-key signs the UKI of the EFI formats, and none is requested (${formats.map((f) => f.name).join(', ')})`,
      `add an EFI format: -f ${formatNames.filter((n) => outputFormat(n).firmware.includes('uefi')).join(', -f ')}`,
    );
  }
  const key = await loadSigningKey(sign.key, sign.cert);
  await requireTool('osslsigncode', `the signed ${efi.name} format`); // before the images are built, not after
  return key;
}

/** Usage errors of the requested formats: --verity on a format without a root image, two formats writing one file. */
function checkFormats(formats: OutputFormat[], verity: boolean): void {
  const plain = verity ? formats.find((f) => !f.verity) : undefined;
  if (plain) {
    throw new LkError(
      'usage',
      `--verity does not apply to the ${plain.name} format: it has no root image to verify`,
      `--verity applies to ${verityFormatNames.join(', ')}; build ${plain.name} without it`,
    );
  }
  const clash = clashingFormats(formats);
  if (clash) {
    throw new LkError(
      'usage',
      `the ${clash[0].name} and ${clash[1].name} formats both write NAME${clash[2]}`,
      'build them in two runs with different names (-n)',
    );
  }
}

/** The whole pipeline: build files -> images -> one root filesystem -> the requested artifacts. */
export async function build(opts: BuildOptions): Promise<{ spec: BuildSpec; outputs: string[] }> {
  const log = opts.log ?? (() => undefined);
  const epoch = opts.sourceDateEpoch ?? sourceDateEpoch();
  const clock = opts.clock ?? new StageClock();
  clock.declare('config', 'pull'); // the recipes follow in the order the build file names them
  const formats = opts.formats.map(outputFormat); // unknown formats fail before any work
  checkFormats(formats, opts.verity === true);
  const spec = await clock.time('config', () => loadBuildFiles(opts.files));
  const signer = opts.sign && new UkiSigner(await signingKeyFor(opts.sign, formats), epoch);
  if (signer) log(`signing the UKI for ${signer.key.subject}`);
  const layout = new OciLayout(opts.cacheDir ?? defaultCacheDir());
  await layout.init();
  const images = await resolveImages(spec, {
    layout,
    sourceDateEpoch: epoch,
    log,
    verbose: opts.verbose,
    onProgress: opts.onProgress,
    onPull: opts.onPull,
    clock,
  });
  const squashfs = opts.verity || formats.some((f) => f.files.some((file) => file.role === 'root-image'));
  clock.declare('unpack', 'assemble', 'compress', ...(squashfs ? ['root image'] : []), ...formats.map((f) => f.name));
  const spool = await Spool.create();
  const layers = new UnpackedLayers(layout, spool);
  const outputs = new AtomicOutputs();
  const compressedRoot = new CompressedRoot(clock);
  const rootImage = new RootImage(clock);
  try {
    const node = await clock.time('assemble', () => assembleNode({ spec, images, layers, spool, clock }));
    const base = join(resolve(opts.dir ?? '.'), outputName(opts.files, opts.name));
    for (const f of formats) {
      log(`writing ${f.name}`);
      const ctx = {
        node,
        base,
        sourceDateEpoch: epoch,
        outputs,
        compressedRoot,
        rootImage,
        verity: opts.verity,
        signer,
        compression: opts.compression,
      };
      await clock.time(f.name, () => f.write(ctx, outputPath(f, base)));
    }
    if (opts.sbom !== false) {
      log('writing the SBOM');
      const sbom = () => nodeSbom({ spec, images, node, base, sourceDateEpoch: epoch });
      await clock.time('sbom', async () => outputs.write(`${base}${SBOM_SUFFIX}`, await sbom()));
    }
    return { spec, outputs: await outputs.commit() };
  } catch (e) {
    await outputs.abort();
    throw e;
  } finally {
    await compressedRoot.dispose();
    await rootImage.dispose();
    await signer?.dispose();
    await layers.dispose();
    await spool.dispose();
  }
}
