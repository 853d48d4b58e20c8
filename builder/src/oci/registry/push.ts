import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { LkError } from '../../errors.js';
import { deadline } from '../../net/retry.js';
import { sha256Digest } from '../digest.js';
import type { OciLayout } from '../layout.js';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../media-types.js';
import { formatReference, parseReference, type ImageReference } from '../reference.js';
import { resolveCached } from './cache-names.js';
import { RegistryClient, type ClientOptions } from './client.js';
import { mapLimit } from '../../util/map-limit.js';
import type { TransferEvent } from './progress-events.js';

export interface PushOptions extends ClientOptions {
  concurrency?: number;
  /** Bound on the whole push, in ms (default netDefaults.transferTimeoutMs). */
  timeoutMs?: number;
  onEvent?: (event: TransferEvent) => void;
}

export interface PushResult {
  ref: string;
  digest: string;
  uploaded: number;
  skipped: number;
  mounted: number;
}

/**
 * Pushes a cached image (`ref`, a cache reference name) to `dest` (default: `ref` itself).
 * Blobs the registry already has (HEAD) are skipped; blobs of an image that came from another
 * repository of the same registry are mounted from there instead of uploaded.
 */
export async function pushImage(layout: OciLayout, ref: string, dest?: string, opts: PushOptions = {}): Promise<PushResult> {
  const source = parseReference(ref);
  const target = parseReference(dest ?? ref);
  const cached = await resolveCached(layout, ref);
  if (!cached) throw new LkError('cache', `${ref} is not in the local cache (${layout.root})`, 'list cached images with: lkbuild cache ls');
  const { refName: sourceName, descriptor: top } = cached;
  const signal = deadline(opts.timeoutMs, opts.signal);
  const client = new RegistryClient(target.registry, { ...opts, signal });
  const emit = opts.onEvent ?? (() => undefined);
  const counts = { uploaded: 0, skipped: 0, mounted: 0 };
  const mountFrom = source.registry === target.registry && source.repository !== target.repository ? source.repository : undefined;

  const pushBlob = async (blob: Descriptor) => {
    if (!(await layout.hasBlob(blob)))
      throw new LkError('cache', `blob ${blob.digest} of ${sourceName} is missing from the cache`, 'pull or build the image again');
    if (await client.hasBlob(target.repository, blob.digest, `repository:${target.repository}:pull,push`)) {
      counts.skipped++;
      emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: true });
      return;
    }
    const started = await client.startUpload(target.repository, mountFrom ? { digest: blob.digest, from: mountFrom } : undefined);
    if (started.mounted) {
      counts.mounted++;
      emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: true, mounted: true });
      return;
    }
    emit({ type: 'blob-start', digest: blob.digest, size: blob.size });
    await client.putBlob(target.repository, started.location, blob, () =>
      layout.readBlobStream(blob.digest).pipe(countingStream((n) => emit({ type: 'blob-bytes', digest: blob.digest, bytes: n }))),
    );
    counts.uploaded++;
    emit({ type: 'blob-done', digest: blob.digest, size: blob.size, skipped: false });
  };

  /** Pushes what `desc` points at, children first, and the manifest itself under `reference`. */
  const pushManifest = async (desc: Descriptor, reference: string): Promise<void> => {
    const bytes = await readFile(layout.blobPath(desc.digest));
    if (sha256Digest(bytes) !== desc.digest)
      throw new LkError('cache', `manifest ${desc.digest} in the cache is corrupt`, 'pull or build the image again');
    if (desc.mediaType === MediaType.imageIndex || desc.mediaType === MediaType.dockerManifestList) {
      const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
      for (const child of index.manifests) {
        if (await layout.hasBlob(child)) await pushManifest(child, child.digest);
      }
    } else {
      const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
      const blobs = [manifest.config, ...manifest.layers].filter((d, i, all) => all.findIndex((o) => o.digest === d.digest) === i);
      await mapLimit(blobs, opts.concurrency ?? 4, pushBlob);
    }
    await client.putManifest(target.repository, reference, desc.mediaType, bytes);
  };

  try {
    await pushManifest(top, targetReference(target, top));
    emit({ type: 'done', ref: formatReference(target), digest: top.digest });
    return { ref: formatReference(target), digest: top.digest, ...counts };
  } finally {
    await client.close();
  }
}

function targetReference(target: ImageReference, top: Descriptor): string {
  if (target.digest && target.digest !== top.digest) {
    throw new LkError(
      'registry',
      `cannot push ${top.digest} as ${formatReference(target)}: the digests differ`,
      'push to a tag, or drop the @digest',
    );
  }
  return target.tag ?? top.digest;
}

/** A pass-through that reports each chunk's size (for progress) as it flows on. */
function countingStream(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}
