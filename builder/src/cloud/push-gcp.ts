/**
 * `lkbuild push gcp`: the gcp format's NAME.img.tar.gz goes to Cloud Storage with a resumable
 * upload, then becomes a Compute Engine image with images.insert (guest OS feature
 * UEFI_COMPATIBLE, as the disk boots with UEFI only; GVNIC and VIRTIO_SCSI_MULTIQUEUE on
 * request). The image carries the archive's digest as a label: a push of the same archive
 * finds it and does nothing; the object is named by the digest, so a push that failed after
 * the upload does not upload again.
 */
import { LkError, usageError } from '../errors.js';
import { sha256File } from '../util/sha256-file.js';
import type { GcpContext } from './gcp-api.js';
import { checkGceName, findImageByDigest, insertImage, type GuestOsFeature } from './gce.js';
import { objectHasDigest, uploadObject } from './gcs.js';
import { cloudImageFile } from './input.js';

export interface PushGcpOptions {
  file: string;
  name: string;
  bucket: string;
  family?: string;
  gvnic?: boolean;
  multiqueue?: boolean;
  log: (line: string) => void;
  pollMs?: number;
  chunkBytes?: number;
}

export interface PushGcpResult {
  image: string;
  digest: string;
  existing: boolean;
}

/** Bucket names: 3-63 of [a-z0-9-_.], starting and ending with a letter or digit. */
function checkBucket(bucket: string): string {
  if (!/^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$/.test(bucket)) throw usageError(`--bucket "${bucket}" is not a Cloud Storage bucket name`);
  return bucket;
}

export async function pushGcp(ctx: GcpContext, o: PushGcpOptions): Promise<PushGcpResult> {
  const input = await cloudImageFile(o.file, 'gcp');
  checkGceName(o.name, '--name');
  if (o.family !== undefined) checkGceName(o.family, '--family');
  checkBucket(o.bucket);
  o.log(`reading ${o.file}`);
  const digest = `sha256:${(await sha256File(o.file)).toString('hex')}`;
  o.log(`digest ${digest}`);
  const existing = await findImageByDigest(ctx, digest);
  if (existing) return { image: existing, digest, existing: true };
  const object = `lkbuild/${digest.slice(7)}.img.tar.gz`;
  const upload = {
    bucket: o.bucket,
    object,
    path: o.file,
    size: input.size,
    digest,
    contentType: 'application/gzip',
    chunkBytes: o.chunkBytes,
    log: o.log,
  };
  if (await objectHasDigest(ctx, upload)) o.log(`gs://${o.bucket}/${object} is there already`);
  else await uploadObject(ctx, upload);
  const features: GuestOsFeature[] = [
    'UEFI_COMPATIBLE',
    ...(o.gvnic ? (['GVNIC'] as const) : []),
    ...(o.multiqueue ? (['VIRTIO_SCSI_MULTIQUEUE'] as const) : []),
  ];
  o.log(`creating image ${o.name}`);
  await insertImage(ctx, { name: o.name, family: o.family, bucket: o.bucket, object, digest, features, pollMs: o.pollMs ?? 5_000 });
  if ((await findImageByDigest(ctx, digest)) !== o.name)
    throw new LkError('cloud', `image ${o.name} was created but does not carry the digest label`, 'look at the image in the Cloud console');
  return { image: o.name, digest, existing: false };
}
