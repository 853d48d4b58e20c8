/**
 * A loopback stand-in for Google's OAuth token endpoint, Cloud Storage's resumable uploads and
 * the Compute Engine images/instances/operations calls, for the push/run gcp tests. It verifies
 * the service-account JWT with the public key (RS256), checks every Content-Range against what
 * it has kept, refuses an image whose source object is missing or incomplete, and can throttle,
 * fail a chunk half-way (keeping part of it, as Cloud Storage may) or expire the token.
 */
import { createHash, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackFake, type PlannedFault } from './loopback.js';

export const PROJECT = 'lk-test-project';
const QUANTUM = 256 * 1024;

interface Upload {
  bucket: string;
  name: string;
  total: number;
  data: Buffer[];
  kept: number;
  metadata: Record<string, string>;
}
export interface GcpFault extends PlannedFault {
  status: number;
  reason?: string;
}

export class FakeGcp extends LoopbackFake<GcpFault> {
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  readonly objects = new Map<string, { data: Buffer; metadata: Record<string, string> }>();
  readonly images = new Map<string, { body: Record<string, unknown>; status: string }>();
  readonly instances = new Map<string, { body: Record<string, unknown>; status: string; serialReads: number }>();
  tokensIssued = 0;
  /** After this many chunk PUTs, the token in use expires (401 until a new one is fetched). */
  expireTokenAfterChunks?: number;
  /** A failing chunk keeps this many of its bytes before the 503. */
  keepOnFailure = QUANTUM;
  neverReady = false;
  private valid = new Set<string>();
  private uploads = new Map<string, Upload>();
  private chunks = 0;
  private ops = new Map<string, { done: () => void; polls: number }>();

  constructor(
    private readonly publicKey: KeyObject,
    readonly clientEmail: string,
  ) {
    super();
  }

  protected handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, v: unknown, headers: Record<string, string> = {}) =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(v));
    const fail = (status: number, message: string, reason = 'invalid') =>
      json(status, { error: { code: status, message, errors: [{ reason, message }] } });
    try {
      if (url.pathname === '/token') return this.token(body, json, fail);
      if (url.pathname.startsWith('/computeMetadata/v1/')) return this.metadata(req, url, res, json);
      const op = opName(req.method ?? '', url);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !this.valid.has(token)) return fail(401, 'Request had invalid authentication credentials.', 'authError');
      const fault = this.takeFault(op);
      if (fault) {
        if (op === 'upload chunk') this.keepPart(url, req, body);
        return fail(fault.status, 'injected', fault.reason);
      }
      this.calls.push(op);
      if (op.startsWith('upload') || op.startsWith('objects')) return this.storage(op, req, url, body, res, json, fail);
      return this.compute(op, url, body, json, fail);
    } catch (e) {
      this.violations.push(String(e));
      fail(400, String(e));
    }
  }

  private token(body: Buffer, json: (s: number, v: unknown) => void, fail: (s: number, m: string) => void): void {
    const form = new URLSearchParams(body.toString());
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return fail(400, 'grant_type');
    const [h, c, s] = (form.get('assertion') ?? '').split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as {
      iss: string;
      aud: string;
      scope: string;
      iat: number;
      exp: number;
    };
    const now = Date.now() / 1000;
    const ok =
      header.alg === 'RS256' &&
      createVerify('RSA-SHA256').update(`${h}.${c}`).verify(this.publicKey, Buffer.from(s, 'base64url')) &&
      claims.iss === this.clientEmail &&
      claims.aud === `${this.url}/token` &&
      claims.scope === 'https://www.googleapis.com/auth/cloud-platform' &&
      Math.abs(claims.iat - now) < 300 &&
      claims.exp - claims.iat <= 3600;
    if (!ok) {
      this.violations.push('bad JWT');
      return fail(400, 'invalid_grant');
    }
    const token = `tok-${++this.tokensIssued}`;
    this.valid.add(token);
    this.calls.push('token');
    json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  /** The metadata server of a GCE VM: only with Metadata-Flavor: Google. */
  private metadata(req: IncomingMessage, url: URL, res: ServerResponse, json: (s: number, v: unknown) => void): void {
    if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end('Missing Metadata-Flavor:Google header');
    const path = url.pathname.slice('/computeMetadata/v1/'.length);
    if (path === 'project/project-id') return void res.writeHead(200, { 'metadata-flavor': 'Google' }).end(PROJECT);
    if (path !== 'instance/service-accounts/default/token') return void res.writeHead(404).end();
    const token = `tok-${++this.tokensIssued}`;
    this.valid.add(token);
    this.calls.push('token');
    json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  private keepPart(url: URL, req: IncomingMessage, body: Buffer): void {
    const up = this.uploads.get(url.searchParams.get('upload_id') ?? '');
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range']));
    if (up && m && Number(m[1]) === up.kept && body.length > this.keepOnFailure) {
      up.data.push(body.subarray(0, this.keepOnFailure));
      up.kept += this.keepOnFailure;
    }
  }

  private storage(
    op: string,
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    res: ServerResponse,
    json: (s: number, v: unknown, h?: Record<string, string>) => void,
    fail: (s: number, m: string) => void,
  ): void {
    if (op === 'upload start') {
      const bucket = url.pathname.split('/')[5];
      const meta = JSON.parse(body.toString()) as { name: string; metadata?: Record<string, string> };
      const total = Number(req.headers['x-upload-content-length']);
      if (!(total > 0) || meta.name !== url.searchParams.get('name')) throw new Error('upload start: length or name');
      const id = `up${this.uploads.size + 1}`;
      this.uploads.set(id, { bucket, name: meta.name, total, data: [], kept: 0, metadata: meta.metadata ?? {} });
      return json(200, {}, { location: `${this.url}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}` });
    }
    if (op === 'objects.get') {
      const [, , , , bucket, , name] = url.pathname.split('/');
      const o = this.objects.get(`${bucket}/${decodeURIComponent(name)}`);
      if (!o) return fail(404, 'No such object');
      return json(200, { name: decodeURIComponent(name), size: String(o.data.length), metadata: o.metadata });
    }
    const up = this.uploads.get(url.searchParams.get('upload_id') ?? '');
    if (!up) throw new Error('no such upload session');
    const range = String(req.headers['content-range']);
    const kept = () => (up.kept > 0 ? { range: `bytes=0-${up.kept - 1}` } : {});
    if (range === `bytes */${up.total}`) {
      if (up.kept === up.total) return json(200, { name: up.name, size: String(up.total) });
      return void res.writeHead(308, kept()).end();
    }
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
    if (!m || Number(m[3]) !== up.total) throw new Error(`Content-Range ${range}`);
    const [from, to] = [Number(m[1]), Number(m[2])];
    if (from !== up.kept) throw new Error(`chunk from ${from}, but ${up.kept} bytes are kept`);
    if (to - from + 1 !== body.length) throw new Error('chunk length does not match Content-Range');
    if (to + 1 < up.total && body.length % QUANTUM !== 0) throw new Error('a chunk that is not the last is not a multiple of 256 KiB');
    up.data.push(body);
    up.kept = to + 1;
    this.chunks++;
    if (this.expireTokenAfterChunks === this.chunks) this.valid.clear();
    if (up.kept < up.total) return void res.writeHead(308, kept()).end();
    const data = Buffer.concat(up.data);
    this.objects.set(`${up.bucket}/${up.name}`, { data, metadata: up.metadata });
    json(200, { name: up.name, size: String(data.length), md5Hash: createHash('md5').update(data).digest('base64') });
  }

  private operation(kind: string, scope: string, done: () => void): Record<string, unknown> {
    const name = `operation-${this.ops.size + 1}-${kind}`;
    this.ops.set(name, { done, polls: 0 });
    return {
      kind: 'compute#operation',
      name,
      status: 'RUNNING',
      ...(scope === 'global' ? {} : { zone: `https://fake/compute/v1/projects/${PROJECT}/zones/${scope}` }),
    };
  }

  private compute(op: string, url: URL, body: Buffer, json: (s: number, v: unknown) => void, fail: (s: number, m: string) => void): void {
    const parts = url.pathname.replace(/^\/compute\/v1\//, '').split('/');
    if (parts[0] !== 'projects' || parts[1] !== PROJECT) throw new Error(`project ${parts[1]}`);
    if (op === 'images.list') {
      const m = /^labels\.lkbuild-digest=([0-9a-f]{63})$/.exec(url.searchParams.get('filter') ?? '');
      if (!m) throw new Error(`images.list filter ${url.searchParams.get('filter')}`);
      const items = [...this.images]
        .filter(([, i]) => (i.body.labels as Record<string, string>)['lkbuild-digest'] === m[1])
        .map(([name, i]) => ({ name, status: i.status }));
      return json(200, items.length ? { items } : {});
    }
    if (op === 'images.insert') {
      const b = JSON.parse(body.toString()) as {
        name: string;
        rawDisk: { source: string };
        guestOsFeatures: { type: string }[];
        labels: Record<string, string>;
      };
      if (this.images.has(b.name)) return fail(409, `The resource '${b.name}' already exists`);
      const src = /^https:\/\/storage\.googleapis\.com\/([^/]+)\/(.+)$/.exec(b.rawDisk.source);
      if (!src || !this.objects.has(`${src[1]}/${src[2]}`)) throw new Error(`images.insert: no object ${b.rawDisk.source}`);
      const image = { body: b as unknown as Record<string, unknown>, status: 'PENDING' };
      this.images.set(b.name, image);
      return json(
        200,
        this.operation('insert-image', 'global', () => (image.status = 'READY')),
      );
    }
    if (op === 'operations.get') {
      const o = this.ops.get(parts.at(-1)!);
      if (!o) return fail(404, 'no such operation');
      if (o.polls++ === 0) return json(200, { name: parts.at(-1), status: 'RUNNING' });
      o.done();
      return json(200, { name: parts.at(-1), status: 'DONE' });
    }
    const zone = parts[3];
    if (op === 'instances.insert') {
      const b = JSON.parse(body.toString()) as { name: string; disks: { initializeParams: { sourceImage: string } }[] };
      const img = b.disks[0].initializeParams.sourceImage.split('/').pop()!;
      if (this.images.get(img)?.status !== 'READY') throw new Error(`instances.insert: image ${img} is not READY`);
      const inst = { body: b as unknown as Record<string, unknown>, status: 'PROVISIONING', serialReads: 0 };
      this.instances.set(b.name, inst);
      return json(
        200,
        this.operation('insert-instance', zone, () => (inst.status = 'RUNNING')),
      );
    }
    const inst = this.instances.get(parts[5]);
    if (!inst) return fail(404, `instance ${parts[5]} not found`);
    if (op === 'instances.serialPort') {
      const text = [
        'lk-init: start uptime=0.5\n',
        'lk-init: onboot dhcpcd exit=0 uptime=1.1\n',
        'lk-init: service sshd started pid=77 uptime=1.4\n',
        'lk-init: ready uptime=1.5\n',
      ];
      const all = text.slice(0, Math.min(++inst.serialReads, this.neverReady ? 3 : 4)).join('');
      const start = Number(url.searchParams.get('start') ?? 0);
      if (url.searchParams.get('port') !== '1') throw new Error('serialPort: port');
      return json(200, { contents: all.slice(start), start: String(start), next: String(all.length) });
    }
    if (op === 'instances.delete')
      return json(
        200,
        this.operation('delete-instance', zone, () => (inst.status = 'TERMINATED')),
      );
    throw new Error(`unknown call ${op}`);
  }
}

function opName(method: string, url: URL): string {
  const p = url.pathname;
  if (p.startsWith('/upload/storage/v1/')) return url.searchParams.has('upload_id') ? 'upload chunk' : 'upload start';
  if (p.startsWith('/storage/v1/')) return 'objects.get';
  if (/\/global\/images$/.test(p)) return method === 'POST' ? 'images.insert' : 'images.list';
  if (/\/operations\/[^/]+$/.test(p)) return 'operations.get';
  if (/\/instances$/.test(p)) return 'instances.insert';
  if (/\/instances\/[^/]+\/serialPort$/.test(p)) return 'instances.serialPort';
  if (/\/instances\/[^/]+$/.test(p) && method === 'DELETE') return 'instances.delete';
  return `${method} ${p}`;
}
