import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { decompress } from '../../archive/decompress.js';
import { LkError } from '../../errors.js';
import { readLimited } from '../../util/read-limited.js';
import type { BlobRef, OciLayout } from '../layout.js';
import { Annotation, MediaType, type Descriptor, type ImageConfigFile, type ImageIndex, type ImageManifest } from '../media-types.js';
import { normalizeReference, parseReference } from '../reference.js';
import { reachableDescriptors } from './clean.js';
import { defaultPlatform, formatPlatform, selectPlatform, type Platform } from './platform.js';

export interface ImportOptions {
  /** Name to give the image when the archive holds exactly one and names it not (or to override). */
  name?: string;
  platform?: Platform;
}

/** Small metadata files kept in memory; everything else streams into the blob store. */
const metadataFiles = new Set(['oci-layout', 'index.json', 'manifest.json', 'repositories']);
const maxMetadataBytes = 8 << 20;

/**
 * Imports an OCI layout tarball (oci-archive) or a docker-archive (`docker save`, old or new
 * style) into the cache, streaming: every blob is verified against its digest as it lands.
 * Returns the reference names it tagged.
 */
export async function importArchive(layout: OciLayout, file: string, opts: ImportOptions = {}): Promise<string[]> {
  await layout.init();
  const contents = await readArchive(layout, file);
  const index = contents.metadata.get('index.json');
  const dockerManifest = contents.metadata.get('manifest.json');
  // A Docker 25+ archive has both; its manifest.json carries the repo tags, so prefer it.
  if (dockerManifest) return importDockerArchive(layout, file, contents, JSON.parse(dockerManifest.toString('utf8')), opts);
  if (index) return importOciArchive(layout, file, JSON.parse(index.toString('utf8')) as ImageIndex, opts);
  throw new LkError(
    'import',
    `${file} is neither an OCI layout tarball nor a docker archive`,
    'expected index.json (OCI) or manifest.json (docker save) at the top level',
  );
}

interface ArchiveContents {
  metadata: Map<string, Buffer>;
  /** Every other regular file, by normalized path, as stored in the blob store. */
  files: Map<string, BlobRef>;
}

async function readArchive(layout: OciLayout, file: string): Promise<ArchiveContents> {
  const metadata = new Map<string, Buffer>();
  const files = new Map<string, BlobRef>();
  const links = new Map<string, string>();
  const extract = tar.extract();
  const source = await maybeGunzip(file);
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const path = posix
        .normalize(h.name)
        .replace(/^(\.\/)+|^\/+/, '')
        .replace(/\/$/, '');
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.join(posix.dirname(path), h.linkname ?? '') : posix.normalize(h.linkname ?? '');
        links.set(path, target);
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (metadataFiles.has(path)) {
        metadata.set(path, await readSmall(entry as unknown as AsyncIterable<Buffer>, path));
        continue;
      }
      const blobName = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path)?.[1];
      const expected = blobName ? { digest: `sha256:${blobName}`, size: h.size ?? 0 } : undefined;
      if (expected && (await layout.hasBlob(expected))) {
        // Already stored: drain the entry (destroying it would stall the tar stream).
        for await (const _ of entry as unknown as AsyncIterable<Buffer>);
        files.set(path, expected);
        continue;
      }
      files.set(path, await layout.writeBlob(entry as unknown as Readable, expected));
    }
  } catch (e) {
    if (e instanceof LkError) throw new LkError('import', `${file}: ${e.message}`, e.hint, { cause: e });
    throw new LkError(
      'import',
      `cannot read ${file} as a tar archive: ${(e as Error).message}`,
      'expected an uncompressed or gzipped tarball',
      { cause: e },
    );
  }
  for (const [path, target] of links) {
    const blob = files.get(target);
    if (blob) files.set(path, blob);
  }
  return { metadata, files };
}

async function importOciArchive(layout: OciLayout, file: string, index: ImageIndex, opts: ImportOptions): Promise<string[]> {
  if (index.manifests.length === 0) throw new LkError('import', `${file} holds no images`);
  if (opts.name && index.manifests.length > 1)
    throw new LkError('import', `${file} holds ${index.manifests.length} images; --name needs exactly one`);
  const names: string[] = [];
  for (const entry of index.manifests) {
    const given = opts.name ?? entry.annotations?.['io.containerd.image.name'] ?? entry.annotations?.[Annotation.refName];
    const name = given && isFullName(given) ? given : undefined;
    if (!name) {
      throw new LkError(
        'import',
        `${file}: image ${entry.digest} has no usable name${given ? ` ("${given}" is only a tag)` : ''}`,
        'give one with --name REF',
      );
    }
    const chosen = await pickManifest(layout, file, entry, opts.platform ?? defaultPlatform);
    await checkComplete(layout, file, chosen);
    await layout.tag(name, withoutAnnotations(chosen));
    names.push(name);
  }
  return names;
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importDockerArchive(
  layout: OciLayout,
  file: string,
  contents: ArchiveContents,
  entries: DockerArchiveEntry[],
  opts: ImportOptions,
): Promise<string[]> {
  if (opts.name && entries.length > 1) throw new LkError('import', `${file} holds ${entries.length} images; --name needs exactly one`);
  const names: string[] = [];
  const blobOf = (path: string): BlobRef => {
    const normalized = posix.normalize(path);
    const blob = contents.files.get(normalized);
    if (!blob) throw new LkError('import', `${file} names ${path} in manifest.json but does not contain it`, 'the archive is incomplete');
    return blob;
  };
  for (const entry of entries) {
    const configBlob = blobOf(entry.Config);
    const config = await layout.readJsonBlob<ImageConfigFile>(configBlob.digest);
    const layers: Descriptor[] = [];
    for (const path of entry.Layers) {
      const blob = blobOf(path);
      layers.push({ mediaType: (await isGzip(layout, blob.digest)) ? MediaType.layerTarGzip : MediaType.layerTar, ...blob });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.imageConfig, ...configBlob },
      layers,
    };
    const stored = await layout.writeJsonBlob(manifest);
    const descriptor: Descriptor = {
      mediaType: MediaType.imageManifest,
      ...stored,
      platform: { architecture: config.architecture, os: config.os },
    };
    const tags = opts.name ? [opts.name] : (entry.RepoTags ?? []).map((t) => normalizeReference(t));
    if (tags.length === 0) throw new LkError('import', `${file}: an image without repo tags`, 'give it a name with --name REF');
    for (const tag of tags) {
      await layout.tag(tag, descriptor);
      names.push(tag);
    }
  }
  return names;
}

/** A multi-platform index resolves to one platform's manifest, as a pull does. */
async function pickManifest(layout: OciLayout, file: string, entry: Descriptor, want: Platform): Promise<Descriptor> {
  if (entry.mediaType !== MediaType.imageIndex && entry.mediaType !== MediaType.dockerManifestList) return entry;
  const index = await layout.readJsonBlob<ImageIndex>(entry.digest);
  const chosen = selectPlatform(index.manifests, want);
  if (!chosen) throw new LkError('import', `${file}: no image for ${formatPlatform(want)}`, 'choose another platform with --platform');
  return pickManifest(layout, file, chosen, want);
}

async function checkComplete(layout: OciLayout, file: string, desc: Descriptor): Promise<void> {
  for (const blob of (await reachableDescriptors(layout, [desc])).values()) {
    if (!(await layout.hasBlob(blob)))
      throw new LkError('import', `${file} lacks blob ${blob.digest} that its image needs`, 'the archive is incomplete');
  }
}

function withoutAnnotations(desc: Descriptor): Descriptor {
  const { annotations: _annotations, ...rest } = desc;
  return rest;
}

/** A name with a repository, not just a tag like "3.20" (Docker writes bare tags as ref.name). */
function isFullName(name: string): boolean {
  if (!/[/:@]/.test(name)) return false;
  try {
    parseReference(name);
    return true;
  } catch {
    return false;
  }
}

async function isGzip(layout: OciLayout, digest: string): Promise<boolean> {
  const fh = await open(layout.blobPath(digest));
  try {
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function maybeGunzip(file: string): Promise<Readable> {
  const fh = await open(file).catch((e: NodeJS.ErrnoException) => {
    throw new LkError('import', `cannot open ${file}: ${e.code ?? e.message}`);
  });
  const head = Buffer.alloc(2);
  await fh.read(head, 0, 2, 0);
  await fh.close();
  const raw = createReadStream(file);
  return head[0] === 0x1f && head[1] === 0x8b ? decompress(raw, 'gz', file) : raw;
}

function readSmall(entry: AsyncIterable<Buffer>, path: string): Promise<Buffer> {
  return readLimited(entry, maxMetadataBytes, () => new LkError('import', `${path} in the archive is implausibly large`));
}
