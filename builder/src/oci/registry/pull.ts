import { LkError } from '../../errors.js';
import { deadline } from '../../net/retry.js';
import { findImage, type StoredImage } from '../image-store.js';
import type { BlobRef, OciLayout } from '../layout.js';
import { MediaType, type Descriptor, type ImageConfigFile, type ImageIndex, type ImageManifest } from '../media-types.js';
import { formatReference, parseReference } from '../reference.js';
import { RegistryClient, type ClientOptions, type FetchedManifest } from './client.js';
import { mapLimit } from '../../util/map-limit.js';
import { dockerToOciManifest } from './convert.js';
import { defaultPlatform, formatPlatform, selectPlatform, type Platform } from './platform.js';
import type { TransferEvent } from './progress-events.js';

export interface PullOptions extends ClientOptions {
  /** Which image of a multi-platform index to take (default linux/amd64). */
  platform?: Platform;
  /** Parallel blob downloads (default 4). */
  concurrency?: number;
  /** Bound on the whole pull, in ms (default netDefaults.transferTimeoutMs). */
  timeoutMs?: number;
  onEvent?: (event: TransferEvent) => void;
}

/**
 * Fetches an image from its registry into the local cache and tags it under its normalized
 * reference ("docker.io/library/alpine:3.20"). Every blob is verified against its digest and
 * size while it streams. A reference pinned with @sha256 must match what the registry serves.
 * Multi-platform indexes are resolved to one platform; the cache holds that image's manifest.
 */
export async function pullImage(layout: OciLayout, ref: string, opts: PullOptions = {}): Promise<StoredImage> {
  const parsed = parseReference(ref);
  const refName = formatReference(parsed);
  const want = opts.platform ?? defaultPlatform;
  const emit = opts.onEvent ?? (() => undefined);
  const signal = deadline(opts.timeoutMs, opts.signal);
  const client = new RegistryClient(parsed.registry, { ...opts, signal });
  try {
    await layout.init();
    const top = await client.getManifest(parsed.repository, parsed.digest ?? parsed.tag!);
    if (parsed.digest && top.digest !== parsed.digest) {
      throw new LkError(
        'registry',
        `${refName}: the registry served a manifest with digest ${top.digest}`,
        'the pinned digest does not match; nothing was stored',
      );
    }
    const chosen = isIndex(top.mediaType) ? await pickFromIndex(client, parsed.repository, refName, top, want) : top;
    if (chosen.mediaType !== MediaType.imageManifest && chosen.mediaType !== MediaType.dockerManifest) {
      throw new LkError(
        'registry',
        `${refName} has an unsupported manifest type ${chosen.mediaType}`,
        'only OCI and Docker v2 schema 2 images are supported',
      );
    }
    const manifest = JSON.parse(chosen.bytes.toString('utf8')) as ImageManifest;
    emit({ type: 'resolved', ref: refName, digest: chosen.digest, blobs: manifest.layers.length + 1 });

    const blobs = uniqueByDigest([manifest.config, ...manifest.layers]);
    await mapLimit(blobs, opts.concurrency ?? 4, async (blob) => {
      if (await layout.hasBlob(blob)) {
        emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: true });
        return;
      }
      emit({ type: 'blob-start', digest: blob.digest, size: blob.size });
      const chunks = client.blobChunks(parsed.repository, blob, (n) => emit({ type: 'blob-bytes', digest: blob.digest, bytes: n }));
      await layout.writeBlob(chunks, { digest: blob.digest, size: blob.size });
      emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: false });
    });

    const config = await layout.readJsonBlob<ImageConfigFile>(manifest.config.digest);
    if (opts.platform && (config.architecture !== want.architecture || config.os !== want.os)) {
      throw new LkError(
        'registry',
        `${refName} is a ${config.os}/${config.architecture} image, not ${formatPlatform(want)}`,
        'pick a reference that has the platform you asked for',
      );
    }
    const kept = await storeManifest(layout, chosen, manifest);
    const variant = (config as { variant?: string }).variant;
    const descriptor: Descriptor = {
      mediaType: MediaType.imageManifest,
      ...kept,
      platform: { architecture: config.architecture, os: config.os, ...(variant ? { variant } : {}) },
      ...(kept.digest !== chosen.digest ? { annotations: { [sourceDigestAnnotation]: chosen.digest } } : {}),
    };
    await layout.tag(refName, descriptor);
    const stored = await findImage(layout, refName);
    if (!stored)
      throw new LkError(
        'cache',
        `${refName} vanished from the cache right after the pull`,
        'another process may be removing images from the cache; pull again',
      );
    emit({ type: 'done', ref: refName, digest: kept.digest });
    return stored;
  } finally {
    await client.close();
  }
}

/** Annotation on a cache entry whose manifest was converted: the digest the registry serves. */
export const sourceDigestAnnotation = 'org.lkbuild.source.digest';

/** OCI manifests are kept byte for byte; Docker ones are stored converted to OCI. */
async function storeManifest(layout: OciLayout, fetched: FetchedManifest, manifest: ImageManifest): Promise<BlobRef> {
  if (fetched.mediaType === MediaType.imageManifest)
    return layout.writeBlob(fetched.bytes, { digest: fetched.digest, size: fetched.bytes.length });
  return layout.writeJsonBlob(dockerToOciManifest(manifest));
}

function isIndex(mediaType: string): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

async function pickFromIndex(
  client: RegistryClient,
  repository: string,
  refName: string,
  index: FetchedManifest,
  want: Platform,
): Promise<FetchedManifest> {
  const parsed = JSON.parse(index.bytes.toString('utf8')) as ImageIndex;
  const entry = selectPlatform(parsed.manifests, want);
  if (!entry) {
    const available = parsed.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new LkError(
      'registry',
      `${refName} has no image for ${formatPlatform(want)}`,
      `available: ${[...new Set(available)].join(', ') || 'none'}; choose one with --platform`,
    );
  }
  const child = await client.getManifest(repository, entry.digest);
  if (child.digest !== entry.digest || child.bytes.length !== entry.size) {
    throw new LkError(
      'registry',
      `${refName}: manifest ${entry.digest} from the registry does not match its index entry`,
      'the registry is serving inconsistent data; nothing was stored',
    );
  }
  return { ...child, mediaType: entry.mediaType || child.mediaType };
}

function uniqueByDigest(descs: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descs.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}
