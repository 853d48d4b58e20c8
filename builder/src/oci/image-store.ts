import { pipeline, type Readable } from 'node:stream';
import { LkError } from '../errors.js';
import { DigestingStream } from './digest.js';
import type { OciLayout } from './layout.js';
import { MediaType, type Descriptor, type ImageConfigFile, type ImageManifest } from './media-types.js';

export interface StoredImage {
  refName: string;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfigFile;
}

/** Compresses an uncompressed layer tar into the layout, returning its descriptor and diff ID. */
export async function writeLayer(layout: OciLayout, layerTar: Readable): Promise<{ descriptor: Descriptor; diffId: string }> {
  // zlib loads here, not with the module: a pull reads images through this module and never compresses.
  const { createGzip } = await import('node:zlib');
  const uncompressed = new DigestingStream();
  // pipeline, not .pipe(): an error of the tar (a file that vanished) must reach writeBlob.
  const blob = await layout.writeBlob(pipeline(layerTar, uncompressed, createGzip({ level: 6 }), () => undefined));
  return { descriptor: { mediaType: MediaType.layerTarGzip, ...blob }, diffId: uncompressed.digest() };
}

/** Writes config and manifest for already-stored layers and points `refName` at the result. */
export async function commitImage(
  layout: OciLayout,
  refName: string,
  layers: Array<{ descriptor: Descriptor; diffId: string }>,
  config: Omit<ImageConfigFile, 'rootfs'>,
  annotations?: Record<string, string>,
): Promise<StoredImage> {
  const configFile: ImageConfigFile = { ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
  const configBlob = await layout.writeJsonBlob(configFile);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { mediaType: MediaType.imageConfig, ...configBlob },
    layers: layers.map((l) => l.descriptor),
    ...(annotations ? { annotations } : {}),
  };
  const manifestBlob = await layout.writeJsonBlob(manifest);
  const manifestDescriptor: Descriptor = {
    mediaType: MediaType.imageManifest,
    ...manifestBlob,
    platform: { architecture: config.architecture, os: config.os },
  };
  await layout.tag(refName, manifestDescriptor);
  return { refName, manifestDescriptor, manifest, config: configFile };
}

/** Loads an image from the cache by reference name, or undefined if it is not there. */
export async function findImage(layout: OciLayout, refName: string): Promise<StoredImage | undefined> {
  const desc = await layout.resolve(refName);
  if (!desc) return undefined;
  if (desc.mediaType === MediaType.imageIndex || desc.mediaType === MediaType.dockerManifestList) {
    throw new LkError('cache', `${refName} is a multi-platform index in the cache; only single-platform images are supported here yet`);
  }
  const manifest = await layout.readJsonBlob<ImageManifest>(desc.digest);
  const config = await layout.readJsonBlob<ImageConfigFile>(manifest.config.digest);
  for (const layer of manifest.layers) {
    if (!(await layout.hasBlob(layer))) {
      throw new LkError('cache', `layer ${layer.digest} of ${refName} is missing from the cache`, 'pull or build the image again');
    }
  }
  return { refName, manifestDescriptor: desc, manifest, config };
}
