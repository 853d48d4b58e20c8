/**
 * `lkbuild run gcp`: one instance from an image (or from a gcp archive, pushed first, which
 * does nothing when it is already there), user data from --data-file as the `user-data`
 * metadata key (where the node's metadata service reads it), serial port 1 followed until the
 * init is ready, and the instance deleted on --rm, also when the wait fails.
 */
import { randomBytes } from 'node:crypto';
import { usageError } from '../errors.js';
import { readUserData, watchConsole, type InstanceRunOptions } from './console.js';
import type { GcpContext } from './gcp-api.js';
import { checkGceName, deleteInstance, insertInstance, serialOutput } from './gce.js';
import { pushGcp } from './push-gcp.js';

export interface RunGcpOptions extends InstanceRunOptions {
  /** An image name, or a NAME.img.tar.gz of the gcp format (then --bucket is needed). */
  image: string;
  bucket?: string;
  zone: string;
  machineType?: string;
}

const USER_DATA_LIMIT = 256 * 1024; // GCE's limit for all metadata values together

export async function runGcp(ctx: GcpContext, o: RunGcpOptions): Promise<{ instance: string; image: string }> {
  checkGceName(o.name, '--name');
  if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(o.zone)) throw usageError(`--zone "${o.zone}" is not a Compute Engine zone (like europe-west1-b)`);
  const userData = await readUserData(o.dataFile, USER_DATA_LIMIT, 'Compute Engine');
  let image = o.image;
  if (image.toLowerCase().endsWith('.img.tar.gz')) {
    if (!o.bucket) throw usageError('run gcp FILE.img.tar.gz needs --bucket to upload it to');
    image = (await pushGcp(ctx, { file: o.image, name: o.name, bucket: o.bucket, log: o.log, pollMs: o.pollMs })).image;
  } else checkGceName(image, 'the image');
  const instance = `${o.name.slice(0, 55)}-${randomBytes(3).toString('hex')}`;
  const pollMs = o.pollMs ?? 5_000;
  await insertInstance(ctx, {
    name: instance,
    zone: o.zone,
    machineType: o.machineType ?? 'e2-small',
    image,
    userData: userData?.toString('utf8'),
    pollMs,
  });
  o.log(`instance ${instance} from ${image} in ${o.zone}`);
  try {
    let next = 0;
    await watchConsole({
      instance,
      timeoutMs: o.timeoutMs ?? 600_000,
      intervalMs: pollMs,
      signal: o.signal,
      write: o.write,
      next: async () => {
        const out = await serialOutput(ctx, o.zone, instance, next);
        next = out.next;
        return out.text;
      },
    });
    o.log(`instance ${instance} is ready`);
  } finally {
    if (o.rm) {
      await deleteInstance(ctx, o.zone, instance, pollMs);
      o.log(`instance ${instance} deleted`);
    }
  }
  return { instance, image };
}
