/**
 * A file into Cloud Storage with the resumable upload protocol: one session, chunks of a
 * multiple of 256 KiB sent with Content-Range. When a chunk fails, the next attempt first asks
 * the session how much it has kept (Content-Range: bytes * /SIZE) and goes on from there, so a
 * 5xx mid-upload costs at most one chunk, never the whole file. An object already there with
 * the same digest in its metadata is not uploaded again.
 */
import { open } from 'node:fs/promises';
import { LkError } from '../errors.js';
import { storageEndpoint, storageRules, type GcpContext } from './gcp-api.js';
import { callService, exchange, headerValue, jsonBody, withCloudRetry, type CloudResponse } from './http.js';

export const CHUNK_BYTES = 8 * 1024 * 1024; // a multiple of 256 KiB, as the protocol requires

export interface GcsUpload {
  bucket: string;
  object: string;
  path: string;
  size: number;
  digest: string;
  contentType: string;
  chunkBytes?: number;
  log: (line: string) => void;
}

const objectUrl = (ctx: GcpContext, bucket: string, object: string) =>
  new URL(`storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(object)}`, storageEndpoint(ctx.env));

/** Whether the bucket already holds this object with this digest (a re-push). */
export async function objectHasDigest(ctx: GcpContext, u: Pick<GcsUpload, 'bucket' | 'object' | 'digest' | 'size'>): Promise<boolean> {
  const res = await callService(
    storageRules(ctx),
    { method: 'GET', url: objectUrl(ctx, u.bucket, u.object) },
    { ...ctx.net, what: `get gs://${u.bucket}/${u.object}`, accept: (s) => s === 200 || s === 404 },
  );
  if (res.status === 404) return false;
  const o = jsonBody<{ size?: string; metadata?: Record<string, string> }>(res, 'objects.get');
  return o.size === String(u.size) && o.metadata?.['lkbuild-digest'] === u.digest;
}

/** The byte after the last one the session has kept, from a 308's Range: bytes=0-N. */
function persistedEnd(res: CloudResponse): number {
  const range = headerValue(res.headers.range);
  const m = range && /^bytes=0-(\d+)$/.exec(range);
  return m ? Number(m[1]) + 1 : 0;
}

export async function uploadObject(ctx: GcpContext, u: GcsUpload): Promise<void> {
  const rules = storageRules(ctx);
  const start = new URL(`upload/storage/v1/b/${encodeURIComponent(u.bucket)}/o`, storageEndpoint(ctx.env));
  start.searchParams.set('uploadType', 'resumable');
  start.searchParams.set('name', u.object);
  const init = await callService(
    rules,
    {
      method: 'POST',
      url: start,
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'x-upload-content-type': u.contentType,
        'x-upload-content-length': String(u.size),
      },
      body: JSON.stringify({ name: u.object, contentType: u.contentType, metadata: { 'lkbuild-digest': u.digest } }),
    },
    { ...ctx.net, what: `start upload to gs://${u.bucket}/${u.object}` },
  );
  const location = headerValue(init.headers.location);
  if (!location)
    throw new LkError(
      'cloud',
      'Cloud Storage started no upload session (no Location header)',
      'check STORAGE_EMULATOR_HOST and the bucket',
    );
  const session = new URL(location, start);
  const chunk = u.chunkBytes ?? CHUNK_BYTES;
  const fh = await open(u.path, 'r');
  const opts = { ...ctx.net, accept: (s: number) => s === 200 || s === 201 || s === 308 };
  let offset = 0;
  let done = false;
  try {
    while (!done) {
      // One attempt: after a failure, ask the session where it stands, then send from there.
      const res = await withCloudRetry(rules.name, `upload to gs://${u.bucket}/${u.object}`, ctx.net ?? {}, async (attempt) => {
        if (attempt > 0) {
          const status = await exchange(
            rules,
            { method: 'PUT', url: session, headers: { 'content-range': `bytes */${u.size}` } },
            { ...opts, what: 'upload status' },
          );
          if (status.status !== 308) return status;
          offset = persistedEnd(status);
        }
        const length = Math.min(chunk, u.size - offset);
        const data = Buffer.alloc(length);
        await fh.read(data, 0, length, offset);
        const range = length > 0 ? `bytes ${offset}-${offset + length - 1}/${u.size}` : `bytes */${u.size}`;
        return exchange(
          rules,
          { method: 'PUT', url: session, headers: { 'content-range': range, 'content-type': u.contentType }, body: data },
          { ...opts, what: `upload bytes ${offset}+${length}` },
        );
      });
      if (res.status === 308) {
        const before = offset;
        offset = persistedEnd(res);
        if (offset <= before)
          throw new LkError(
            'cloud',
            `Cloud Storage kept no bytes of the chunk at ${before} of gs://${u.bucket}/${u.object}`,
            'retry the push; check STORAGE_EMULATOR_HOST',
          );
        u.log(`uploaded ${Math.floor((100 * offset) / u.size)}%`);
      } else done = true;
    }
  } finally {
    await fh.close();
  }
}
