/**
 * `lkbuild push aws`: the aws format's disk becomes an EBS snapshot (EBS direct APIs, no S3
 * bucket, no vmimport role) and then an AMI. Both carry the disk's content digest as the tag
 * lkbuild:digest, so a push of the same disk finds the AMI and does nothing, and a push that
 * failed half-way finds its completed snapshot (or resumes its pending one) instead of
 * starting over. The AMI is registered with its tags in one call: it never exists untagged.
 */
import { LkError, usageError } from '../errors.js';
import { ec2, tagParams, type AwsContext } from './aws-api.js';
import { scanDisk, uploadSnapshot } from './ebs.js';
import { cloudImageFile } from './input.js';
import { xmlText, xmlTexts } from './xml.js';

export const DIGEST_TAG = 'lkbuild:digest';
export type BootMode = 'uefi' | 'legacy-bios' | 'uefi-preferred';

export interface PushAwsOptions {
  file: string;
  name: string;
  bootMode?: BootMode;
  tpm?: boolean;
  jobs?: number;
  log: (line: string) => void;
  /** Between two looks at a snapshot that is still being sealed. */
  pollMs?: number;
}

export interface PushAwsResult {
  imageId: string;
  snapshotId?: string;
  digest: string;
  existing: boolean;
}

const byDigest = (digest: string) => ({ 'Owner.1': 'self', 'Filter.1.Name': `tag:${DIGEST_TAG}`, 'Filter.1.Value.1': digest });

/** AMI names: 3-128 characters of letters, digits and ( ) [ ] space . / - ' @ _ */
export function checkAmiName(name: string): string {
  if (!/^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/.test(name))
    throw usageError(`--name "${name}" is not a valid AMI name (3-128 letters, digits, spaces and ()[]./-'@_)`);
  return name;
}

async function findImage(ctx: AwsContext, digest: string): Promise<string | undefined> {
  const xml = await ec2(ctx, 'DescribeImages', byDigest(digest));
  // Every image in the answer has exactly one imageId and one imageState, in that order.
  const ids = xmlTexts(xml, 'imageId');
  const states = xmlTexts(xml, 'imageState');
  return ids.find((_, i) => states[i] === 'available' || states[i] === 'pending');
}

async function findCompletedSnapshot(ctx: AwsContext, digest: string): Promise<string | undefined> {
  const xml = await ec2(ctx, 'DescribeSnapshots', { ...byDigest(digest), 'Filter.2.Name': 'status', 'Filter.2.Value.1': 'completed' });
  return xmlTexts(xml, 'snapshotId')[0];
}

async function waitCompleted(ctx: AwsContext, id: string, pollMs: number): Promise<void> {
  const deadline = Date.now() + 60 * 60_000;
  for (;;) {
    const status = xmlText(await ec2(ctx, 'DescribeSnapshots', { 'SnapshotId.1': id }), 'status');
    if (status === 'completed') return;
    if (status === 'error')
      throw new LkError('cloud', `snapshot ${id} failed in EBS (status error)`, 'push again: a new snapshot is started');
    if (Date.now() > deadline)
      throw new LkError(
        'cloud',
        `snapshot ${id} is still ${status ?? 'unknown'} after an hour`,
        'look at it in the EC2 console, then push again',
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function registerImage(ctx: AwsContext, o: PushAwsOptions, snapshotId: string, digest: string, bootMode: BootMode): Promise<string> {
  try {
    const xml = await ec2(ctx, 'RegisterImage', {
      Name: o.name,
      Description: `lkbuild ${digest}`,
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
      RootDeviceName: '/dev/xvda',
      'BlockDeviceMapping.1.DeviceName': '/dev/xvda',
      'BlockDeviceMapping.1.Ebs.SnapshotId': snapshotId,
      'BlockDeviceMapping.1.Ebs.VolumeType': 'gp3',
      'BlockDeviceMapping.1.Ebs.DeleteOnTermination': true,
      EnaSupport: true,
      BootMode: bootMode,
      TpmSupport: o.tpm ? 'v2.0' : undefined,
      ImdsSupport: 'v2.0',
      'TagSpecification.1.ResourceType': 'image',
      ...tagParams('TagSpecification.1.Tag', { [DIGEST_TAG]: digest, Name: o.name }),
    });
    const id = xmlText(xml, 'imageId');
    if (!id) throw new LkError('cloud', 'RegisterImage answered without an image id', 'check the EC2 endpoint');
    return id;
  } catch (e) {
    // A retried RegisterImage whose first attempt went through: the image is there, tagged.
    if (e instanceof LkError && e.message.includes('InvalidAMIName.Duplicate')) {
      const id = await findImage(ctx, digest);
      if (id) return id;
      throw new LkError(
        'cloud',
        `an AMI named "${o.name}" exists already, for another disk`,
        'choose another --name, or deregister the old AMI',
      );
    }
    throw e;
  }
}

export async function pushAws(ctx: AwsContext, o: PushAwsOptions): Promise<PushAwsResult> {
  const input = await cloudImageFile(o.file, 'aws');
  checkAmiName(o.name);
  if (o.jobs !== undefined && !(Number.isInteger(o.jobs) && o.jobs >= 1 && o.jobs <= 64))
    throw usageError('--jobs is a whole number from 1 to 64');
  const bootMode = o.bootMode ?? (input.firmware === 'bios+uefi' ? 'uefi-preferred' : 'uefi');
  o.log(`reading ${o.file}`);
  const scan = await scanDisk(o.file);
  o.log(`digest ${scan.digest}`);
  const existing = await findImage(ctx, scan.digest);
  if (existing) return { imageId: existing, digest: scan.digest, existing: true };
  let snapshotId = await findCompletedSnapshot(ctx, scan.digest);
  if (snapshotId) o.log(`snapshot ${snapshotId} of this disk exists: registering it`);
  else {
    snapshotId = await uploadSnapshot(ctx, {
      scan,
      path: o.file,
      clientToken: `lkbuild-${scan.digest.slice(7, 7 + 48)}`,
      description: `lkbuild ${o.name} ${scan.digest}`,
      tags: { [DIGEST_TAG]: scan.digest, Name: o.name },
      jobs: o.jobs ?? 8,
      log: o.log,
    });
    await waitCompleted(ctx, snapshotId, o.pollMs ?? 5_000);
  }
  const imageId = await registerImage(ctx, o, snapshotId, scan.digest, bootMode);
  return { imageId, snapshotId, digest: scan.digest, existing: false };
}
