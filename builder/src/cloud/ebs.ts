/**
 * A raw disk into an EBS snapshot with the EBS direct APIs: StartSnapshot, one PutSnapshotBlock
 * per 512 KiB block that is not all zeros (each with its SHA-256, base64, as x-amz-Checksum),
 * run by a bounded pool, then CompleteSnapshot with the count of blocks written and their
 * LINEAR aggregate checksum. The disk is read twice, block by block, never held in memory.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { mapLimit } from '../util/map-limit.js';
import { awsCall, type AwsContext } from './aws-api.js';
import { jsonBody } from './http.js';

export const EBS_BLOCK_SIZE = 512 * 1024;
const GiB = 1024 ** 3;

export interface DiskScan {
  /** sha256:<hex> of the whole file: the image's content digest. */
  digest: string;
  size: number;
  /** The blocks holding any non-zero byte, by index, with their SHA-256. */
  blocks: { index: number; sha256: Buffer }[];
}

async function readBlock(fh: FileHandle, index: number, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(EBS_BLOCK_SIZE); // zero-filled: a short last block is padded
  const want = Math.min(EBS_BLOCK_SIZE, size - index * EBS_BLOCK_SIZE);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, index * EBS_BLOCK_SIZE + got);
    if (bytesRead === 0)
      throw new LkError('cloud', `the disk image shrank while it was read (block ${index})`, 'do not change the file during a push');
    got += bytesRead;
  }
  return buf;
}

const ZERO_BLOCK = Buffer.alloc(EBS_BLOCK_SIZE);
/** memcmp against a zero block: a byte loop in JavaScript would dominate the scan. */
const isZero = (b: Buffer) => b.equals(ZERO_BLOCK);

/** One pass over the disk: its digest and the checksums of its non-zero blocks. */
export async function scanDisk(path: string): Promise<DiskScan> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const whole = createHash('sha256');
    const blocks: DiskScan['blocks'] = [];
    for (let index = 0; index * EBS_BLOCK_SIZE < size; index++) {
      const block = await readBlock(fh, index, size);
      whole.update(block.subarray(0, Math.min(EBS_BLOCK_SIZE, size - index * EBS_BLOCK_SIZE)));
      if (!isZero(block)) blocks.push({ index, sha256: createHash('sha256').update(block).digest() });
    }
    return { digest: `sha256:${whole.digest('hex')}`, size, blocks };
  } finally {
    await fh.close();
  }
}

/** CompleteSnapshot's LINEAR aggregate: SHA-256 over the block checksums in block order. */
export function aggregateChecksum(blocks: DiskScan['blocks']): string {
  const h = createHash('sha256');
  for (const b of [...blocks].sort((x, y) => x.index - y.index)) h.update(b.sha256);
  return h.digest('base64');
}

export interface SnapshotUpload {
  scan: DiskScan;
  path: string;
  /** Same token, same snapshot: a re-run after a failure resumes the pending snapshot. */
  clientToken: string;
  description: string;
  tags: Record<string, string>;
  jobs: number;
  log: (line: string) => void;
}

export async function uploadSnapshot(ctx: AwsContext, u: SnapshotUpload): Promise<string> {
  const volumeSize = Math.max(1, Math.ceil(u.scan.size / GiB));
  const started = jsonBody<{ SnapshotId?: string; BlockSize?: number }>(
    await awsCall(
      ctx,
      'ebs',
      {
        method: 'POST',
        path: '/snapshots',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          VolumeSize: volumeSize,
          ClientToken: u.clientToken,
          Description: u.description,
          Timeout: 60,
          Tags: Object.entries(u.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      },
      'StartSnapshot',
    ),
    'StartSnapshot',
  );
  const id = started.SnapshotId;
  if (!id || !/^snap-[0-9a-f]+$/.test(id))
    throw new LkError('cloud', `StartSnapshot answered without a snapshot id`, 'check the EBS endpoint');
  if (started.BlockSize !== undefined && started.BlockSize !== EBS_BLOCK_SIZE)
    throw new LkError('cloud', `EBS block size ${started.BlockSize} is not ${EBS_BLOCK_SIZE}`, 'check the EBS endpoint');
  u.log(`snapshot ${id}: ${u.scan.blocks.length} of ${Math.ceil(u.scan.size / EBS_BLOCK_SIZE)} blocks hold data`);
  const fh = await open(u.path, 'r');
  let done = 0;
  try {
    await mapLimit(u.scan.blocks, u.jobs, async (b) => {
      const data = await readBlock(fh, b.index, u.scan.size);
      const sha = createHash('sha256').update(data).digest();
      if (!sha.equals(b.sha256))
        throw new LkError('cloud', `block ${b.index} of ${u.path} changed during the push`, 'do not change the file during a push');
      await awsCall(
        ctx,
        'ebs',
        {
          method: 'PUT',
          path: `/snapshots/${id}/blocks/${b.index}`,
          headers: {
            'content-type': 'application/octet-stream',
            'x-amz-data-length': String(EBS_BLOCK_SIZE),
            'x-amz-checksum': sha.toString('base64'),
            'x-amz-checksum-algorithm': 'SHA256',
            'x-amz-progress': String(Math.floor((100 * done) / u.scan.blocks.length)),
            'x-amz-content-sha256': sha.toString('hex'),
          },
          body: data,
        },
        `PutSnapshotBlock ${b.index}`,
      );
      done++;
    });
  } finally {
    await fh.close();
  }
  await awsCall(
    ctx,
    'ebs',
    {
      method: 'POST',
      path: `/snapshots/completion/${id}`,
      headers: {
        'x-amz-changedblockscount': String(u.scan.blocks.length),
        'x-amz-checksum': aggregateChecksum(u.scan.blocks),
        'x-amz-checksum-algorithm': 'SHA256',
        'x-amz-checksum-aggregation-method': 'LINEAR',
      },
    },
    'CompleteSnapshot',
  );
  return id;
}
