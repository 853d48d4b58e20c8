/**
 * Compute Engine: images found by the digest label or created from a Cloud Storage object,
 * instances created, followed on serial port 1 and deleted. Every change returns an operation
 * that is waited for until it is DONE, and its error reported.
 */
import { LkError } from '../errors.js';
import { sleep } from '../net/retry.js';
import { compute, type GcpContext } from './gcp-api.js';
import { jsonBody } from './http.js';

/** The label carrying the content digest: label values hold at most 63 characters, so 63 hex digits. */
export const DIGEST_LABEL = 'lkbuild-digest';
export const digestLabel = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 63);

export type GuestOsFeature = 'UEFI_COMPATIBLE' | 'GVNIC' | 'VIRTIO_SCSI_MULTIQUEUE';

interface Operation {
  name: string;
  status: string;
  zone?: string;
  error?: { errors?: { code?: string; message?: string }[] };
}

/** GCE resource names: a lower-case letter, then up to 62 of [-a-z0-9], not ending in '-'. */
export function checkGceName(name: string, what: string): string {
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
    throw new LkError(
      'usage',
      `${what} "${name}" is not a valid Compute Engine name (lower-case letters, digits and -, starting with a letter, at most 63)`,
    );
  return name;
}

export async function waitOperation(ctx: GcpContext, op: Operation, pollMs: number): Promise<void> {
  const scope = op.zone ? `zones/${op.zone.split('/').pop()}` : 'global';
  for (let current = op; ; ) {
    if (current.status === 'DONE') {
      const errors = current.error?.errors ?? [];
      if (errors.length)
        throw new LkError(
          'cloud',
          `Compute Engine operation ${current.name} failed: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
          'see the message; nothing was half-created that a re-run would not find',
        );
      return;
    }
    await sleep(pollMs);
    const path = `projects/${ctx.project}/${scope}/operations/${current.name}`;
    current = jsonBody<Operation>(await compute(ctx, 'GET', path, 'operations.get'), 'operations.get');
  }
}

export async function findImageByDigest(ctx: GcpContext, digest: string): Promise<string | undefined> {
  const filter = encodeURIComponent(`labels.${DIGEST_LABEL}=${digestLabel(digest)}`);
  const res = await compute(ctx, 'GET', `projects/${ctx.project}/global/images?filter=${filter}`, 'images.list');
  const items = jsonBody<{ items?: { name: string; status?: string }[] }>(res, 'images.list').items ?? [];
  return items.find((i) => i.status !== 'FAILED' && i.status !== 'DELETING')?.name;
}

export interface InsertImage {
  name: string;
  family?: string;
  /** gs://-less: the bucket and object the disk was uploaded to. */
  bucket: string;
  object: string;
  digest: string;
  features: GuestOsFeature[];
  pollMs: number;
}

export async function insertImage(ctx: GcpContext, i: InsertImage): Promise<void> {
  const body = {
    name: i.name,
    ...(i.family ? { family: i.family } : {}),
    description: `lkbuild ${i.digest}`,
    rawDisk: { source: `https://storage.googleapis.com/${i.bucket}/${i.object}` },
    guestOsFeatures: i.features.map((type) => ({ type })),
    labels: { [DIGEST_LABEL]: digestLabel(i.digest) },
  };
  const res = await compute(ctx, 'POST', `projects/${ctx.project}/global/images`, 'images.insert', body, {
    accept: (s) => (s >= 200 && s < 300) || s === 409,
  });
  if (res.status === 409) {
    // An earlier attempt may have gone through: the name is ours if it carries our digest.
    if ((await findImageByDigest(ctx, i.digest)) === i.name) return;
    throw new LkError(
      'cloud',
      `an image named "${i.name}" exists already in ${ctx.project}, for another disk`,
      'choose another --name, or delete the old image',
    );
  }
  await waitOperation(ctx, jsonBody<Operation>(res, 'images.insert'), i.pollMs);
}

export interface InsertInstance {
  name: string;
  zone: string;
  machineType: string;
  image: string;
  userData?: string;
  pollMs: number;
}

const instancePath = (ctx: GcpContext, zone: string, name?: string) =>
  `projects/${ctx.project}/zones/${zone}/instances${name ? `/${name}` : ''}`;

export async function insertInstance(ctx: GcpContext, i: InsertInstance): Promise<void> {
  // Reading serial port output needs no metadata; interactive serial access stays off.
  const items = i.userData !== undefined ? [{ key: 'user-data', value: i.userData }] : [];
  const body = {
    name: i.name,
    machineType: `zones/${i.zone}/machineTypes/${i.machineType}`,
    disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: `projects/${ctx.project}/global/images/${i.image}` } }],
    networkInterfaces: [{ network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] }],
    metadata: { items },
    labels: { 'created-by': 'lkbuild' },
  };
  const res = await compute(ctx, 'POST', instancePath(ctx, i.zone), 'instances.insert', body);
  await waitOperation(ctx, jsonBody<Operation>(res, 'instances.insert'), i.pollMs);
}

/** Serial port 1 from byte `start`: the new text and where the next read begins. */
export async function serialOutput(ctx: GcpContext, zone: string, name: string, start: number): Promise<{ text: string; next: number }> {
  const res = await compute(
    ctx,
    'GET',
    `${instancePath(ctx, zone, name)}/serialPort?port=1&start=${start}`,
    'instances.getSerialPortOutput',
  );
  const o = jsonBody<{ contents?: string; next?: string }>(res, 'instances.getSerialPortOutput');
  return { text: o.contents ?? '', next: o.next !== undefined ? Number(o.next) : start };
}

export async function deleteInstance(ctx: GcpContext, zone: string, name: string, pollMs: number): Promise<void> {
  const res = await compute(ctx, 'DELETE', instancePath(ctx, zone, name), 'instances.delete');
  await waitOperation(ctx, jsonBody<Operation>(res, 'instances.delete'), pollMs);
}
