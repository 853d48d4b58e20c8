import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TAR_END, tarEntry, type TarHeader } from '../../archive/tar.js';
import { LkError } from '../../errors.js';
import { writeThenRename } from '../../util/atomic-file.js';
import { digestHex } from '../digest.js';
import type { OciLayout } from '../layout.js';
import { Annotation, MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../media-types.js';
import { resolveCached } from './cache-names.js';
import { reachableDescriptors } from './clean.js';

export type ArchiveFormat = 'oci' | 'docker';

/**
 * Writes one cached image as a tarball. "oci" is an OCI image layout (skopeo's oci-archive:);
 * "docker" adds the manifest.json of `docker save` next to the same layout, so `docker load`
 * and skopeo's docker-archive: read it as well (the layout the Docker 25+ save writes).
 * The file appears only when complete.
 */
export async function exportImage(layout: OciLayout, ref: string, file: string, format: ArchiveFormat = 'oci'): Promise<string> {
  const cached = await resolveCached(layout, ref);
  if (!cached) throw new LkError('cache', `${ref} is not in the local cache (${layout.root})`, 'list cached images with: lkbuild cache ls');
  const { refName, descriptor } = cached;
  const blobs = [...(await reachableDescriptors(layout, [descriptor])).values()];
  for (const blob of blobs) {
    if (!(await layout.hasBlob(blob)))
      throw new LkError('cache', `blob ${blob.digest} of ${refName} is missing from the cache`, 'pull or build the image again');
  }
  const entry = { ...descriptor, annotations: { [Annotation.refName]: refName, 'io.containerd.image.name': refName } };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [entry] };

  const manifestJson = format === 'docker' ? JSON.stringify(await dockerManifest(layout, refName, descriptor)) : undefined;
  const sorted = blobs.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  await writeThenRename(dirname(file), async (temp) => {
    await pipeline(Readable.from(archiveEntries(layout, index, manifestJson, sorted)), createWriteStream(temp));
    return file;
  });
  return refName;
}

async function dockerManifest(layout: OciLayout, refName: string, descriptor: Descriptor) {
  if (descriptor.mediaType !== MediaType.imageManifest && descriptor.mediaType !== MediaType.dockerManifest) {
    throw new LkError(
      'cache',
      `${refName} is a multi-platform index; a docker archive holds single-platform images`,
      'export it with --format oci',
    );
  }
  const manifest = await layout.readJsonBlob<ImageManifest>(descriptor.digest);
  const path = (d: Descriptor) => `blobs/sha256/${digestHex(d.digest)}`;
  const tag = refName.includes('@') ? [] : [refName];
  return [{ Config: path(manifest.config), RepoTags: tag, Layers: manifest.layers.map(path) }];
}

const fileHeader = (name: string, size: number): TarHeader => ({ name, type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtime: 0 });

function textEntry(name: string, content: string): AsyncGenerator<Buffer> {
  const data = Buffer.from(content);
  return tarEntry(fileHeader(name, data.length), data);
}

/** The archive's bytes, streamed: the layout's small files, then each blob from the cache. */
async function* archiveEntries(
  layout: OciLayout,
  index: ImageIndex,
  manifestJson: string | undefined,
  blobs: Descriptor[],
): AsyncGenerator<Buffer> {
  yield* textEntry('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
  yield* textEntry('index.json', JSON.stringify(index));
  if (manifestJson !== undefined) yield* textEntry('manifest.json', manifestJson);
  for (const name of ['blobs/', 'blobs/sha256/']) yield* tarEntry({ name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  for (const { digest, size } of blobs) {
    yield* tarEntry(fileHeader(`blobs/sha256/${digestHex(digest)}`, size), layout.readBlobStream(digest));
  }
  yield TAR_END;
}
