import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { LkError } from '../../errors.js';
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
    if (!(await layout.hasBlob(blob))) throw new LkError('cache', `blob ${blob.digest} of ${refName} is missing from the cache`, 'pull or build the image again');
  }
  const entry = { ...descriptor, annotations: { [Annotation.refName]: refName, 'io.containerd.image.name': refName } };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [entry] };

  const pack = tar.pack();
  const tmp = `${file}.tmp-${process.pid}`;
  const written = pipeline(pack, createWriteStream(tmp));
  try {
    await addFile(pack, 'oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    await addFile(pack, 'index.json', JSON.stringify(index));
    if (format === 'docker') await addFile(pack, 'manifest.json', JSON.stringify(await dockerManifest(layout, refName, descriptor)));
    await addDir(pack, 'blobs/');
    await addDir(pack, 'blobs/sha256/');
    for (const blob of blobs.sort((a, b) => (a.digest < b.digest ? -1 : 1))) await addBlob(pack, layout, blob);
    pack.finalize();
    await written;
    await rename(tmp, file);
  } catch (e) {
    pack.destroy();
    await written.catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return refName;
}

async function dockerManifest(layout: OciLayout, refName: string, descriptor: Descriptor) {
  if (descriptor.mediaType !== MediaType.imageManifest && descriptor.mediaType !== MediaType.dockerManifest) {
    throw new LkError('cache', `${refName} is a multi-platform index; a docker archive holds single-platform images`, 'export it with --format oci');
  }
  const manifest = await layout.readJsonBlob<ImageManifest>(descriptor.digest);
  const path = (d: Descriptor) => `blobs/sha256/${digestHex(d.digest)}`;
  const tag = refName.includes('@') ? [] : [refName];
  return [{ Config: path(manifest.config), RepoTags: tag, Layers: manifest.layers.map(path) }];
}

const mtime = new Date(0);

function addFile(pack: tar.Pack, name: string, content: string): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, mode: 0o644, mtime }, content, (err) => (err ? reject(err) : resolve())));
}

function addDir(pack: tar.Pack, name: string): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, type: 'directory', mode: 0o755, mtime }, (err) => (err ? reject(err) : resolve())));
}

async function addBlob(pack: tar.Pack, layout: OciLayout, { digest, size }: Descriptor): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name: `blobs/sha256/${digestHex(digest)}`, size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
    pipeline(layout.readBlobStream(digest), sink).catch(reject);
  });
}
