import { LkError } from '../../errors.js';
import { deadline } from '../../net/retry.js';
import { findImage, type StoredImage } from '../image-store.js';
import type { BlobRef, OciLayout } from '../layout.js';
import { MediaType, type Descriptor, type ImageConfigFile, type ImageIndex, type ImageManifest } from '../media-types.js';
import { formatReference, parseReference, type ImageReference } from '../reference.js';
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
  const { onEvent } = opts;
  const [result] = await pullImages(layout, [ref], { ...opts, onEvent: onEvent && ((_, e) => onEvent(e)) });
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

export interface PullImagesOptions extends Omit<PullOptions, 'onEvent'> {
  /** The events of the image at `index` of the references. */
  onEvent?: (index: number, event: TransferEvent) => void;
}

/**
 * Pulls several images at once, each as pullImage does: one client (its connections and tokens)
 * per registry serves them all, their blobs download side by side (each image `concurrency` at
 * a time, each registry over its connection pool), and a blob two of them share is fetched
 * once. Each image succeeds or fails on its own: the results come in the order of `refs`. A
 * malformed reference is an error before anything is fetched. The time limit bounds them all.
 */
export async function pullImages(
  layout: OciLayout,
  refs: string[],
  opts: PullImagesOptions = {},
): Promise<PromiseSettledResult<StoredImage>[]> {
  const { onEvent, ...rest } = opts;
  const parsed = refs.map(parseReference);
  const session = new PullSession(layout, { ...rest, signal: deadline(opts.timeoutMs, opts.signal) });
  try {
    await layout.init();
    return await Promise.allSettled(parsed.map((ref, i) => session.pull(ref, (e) => onEvent?.(i, e))));
  } finally {
    await session.close();
  }
}

/** What the images of one pullImages call share: clients and blob downloads under way. */
class PullSession {
  private readonly clients = new Map<string, RegistryClient>();
  private readonly downloads = new Map<string, Promise<boolean>>();

  constructor(
    private readonly layout: OciLayout,
    private readonly opts: Omit<PullOptions, 'onEvent'>,
  ) {}

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }

  private client(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) this.clients.set(registry, (client = new RegistryClient(registry, this.opts)));
    return client;
  }

  async pull(parsed: ImageReference, emit: (event: TransferEvent) => void): Promise<StoredImage> {
    const refName = formatReference(parsed);
    const want = this.opts.platform ?? defaultPlatform;
    const client = this.client(parsed.registry);
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
    await mapLimit(blobs, this.opts.concurrency ?? 4, (blob) => this.fetchBlob(client, parsed.repository, blob, emit));
    return this.store(refName, chosen, manifest, emit);
  }

  /** Downloads a blob unless the cache has it; an image that needs a blob another is downloading waits for that. */
  private async fetchBlob(client: RegistryClient, repository: string, blob: Descriptor, emit: (event: TransferEvent) => void) {
    let download = this.downloads.get(blob.digest);
    const ours = !download;
    if (!download) {
      download = this.download(client, repository, blob, emit);
      this.downloads.set(blob.digest, download);
    }
    const fetched = await download;
    emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: !(ours && fetched) });
  }

  /** Resolves false when the cache already has the blob, true once it is downloaded and verified. */
  private async download(client: RegistryClient, repository: string, blob: Descriptor, emit: (event: TransferEvent) => void) {
    if (await this.layout.hasBlob(blob)) return false;
    emit({ type: 'blob-start', digest: blob.digest, size: blob.size });
    const chunks = client.blobChunks(repository, blob, (n) => emit({ type: 'blob-bytes', digest: blob.digest, bytes: n }));
    await this.layout.writeBlob(chunks, { digest: blob.digest, size: blob.size });
    return true;
  }

  /** Checks the config against the platform asked for, stores the manifest and tags it. */
  private async store(refName: string, chosen: FetchedManifest, manifest: ImageManifest, emit: (event: TransferEvent) => void) {
    const want = this.opts.platform ?? defaultPlatform;
    const config = await this.layout.readJsonBlob<ImageConfigFile>(manifest.config.digest);
    if (this.opts.platform && (config.architecture !== want.architecture || config.os !== want.os)) {
      throw new LkError(
        'registry',
        `${refName} is a ${config.os}/${config.architecture} image, not ${formatPlatform(want)}`,
        'pick a reference that has the platform you asked for',
      );
    }
    const kept = await storeManifest(this.layout, chosen, manifest);
    const variant = (config as { variant?: string }).variant;
    const descriptor: Descriptor = {
      mediaType: MediaType.imageManifest,
      ...kept,
      platform: { architecture: config.architecture, os: config.os, ...(variant ? { variant } : {}) },
      ...(kept.digest !== chosen.digest ? { annotations: { [sourceDigestAnnotation]: chosen.digest } } : {}),
    };
    await this.layout.tag(refName, descriptor);
    const stored = await findImage(this.layout, refName);
    if (!stored)
      throw new LkError(
        'cache',
        `${refName} vanished from the cache right after the pull`,
        'another process may be removing images from the cache; pull again',
      );
    emit({ type: 'done', ref: refName, digest: kept.digest });
    return stored;
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
