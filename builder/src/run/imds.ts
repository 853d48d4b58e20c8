import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * An emulation of EC2's instance metadata service, version 2 (token required), as AWS documents
 * it: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1-21600) returns a token;
 * every GET carries it in X-aws-ec2-metadata-token, or gets 401. Pure: the HTTP server around it
 * is in imds-server.ts. Tokens are signed with the state directory's key, so any process that
 * holds the key (QEMU starts one per connection) accepts tokens another one issued.
 */

export interface ImdsRequest {
  method: string;
  path: string;
  /** Lower-case header names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
}

export interface ImdsResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ImdsInstance {
  key: Buffer;
  /** Seconds since the epoch. */
  now: number;
  userData: Buffer | null;
  /** The state directory's instance id (iid-...). */
  instanceId: string;
  hostname: string;
  mac: string;
}

const maxTtl = 21600;
const tokenHeader = 'x-aws-ec2-metadata-token';
const ttlHeader = 'x-aws-ec2-metadata-token-ttl-seconds';
/** The guest's address on the user network that --imds sets up (QEMU's first DHCP address). */
export const imdsGuestIp = '169.254.0.15';

function sign(key: Buffer, expires: number): string {
  return createHmac('sha256', key).update(`imds-token:${expires}`).digest('base64url');
}

/** Pure: a token valid until `now + ttl`. */
export function issueToken(key: Buffer, now: number, ttl: number): string {
  const expires = now + ttl;
  return `${expires}.${sign(key, expires)}`;
}

export function tokenValid(key: Buffer, token: string, now: number): boolean {
  const m = /^(\d{1,12})\.([\w-]{43})$/.exec(token);
  if (!m) return false;
  const expires = Number(m[1]);
  const want = Buffer.from(sign(key, expires));
  return expires > now && timingSafeEqual(want, Buffer.from(m[2]!));
}

function header(req: ImdsRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function reply(status: number, body: string | Buffer, headers: Record<string, string> = {}): ImdsResponse {
  return { status, headers: { 'content-type': 'text/plain', ...headers }, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

/** Pure: EC2's instance id form (i- and 17 hex digits), derived from the state's instance id. */
export function ec2InstanceId(instanceId: string): string {
  return `i-${createHash('sha256').update(instanceId).digest('hex').slice(0, 17)}`;
}

/** The metadata tree: leaves are strings; a directory lists its children. */
function metadataTree(i: ImdsInstance): Record<string, string> {
  const id = ec2InstanceId(i.instanceId);
  const document = {
    accountId: '000000000000',
    architecture: 'x86_64',
    availabilityZone: 'us-east-1a',
    imageId: 'ami-00000000000000000',
    instanceId: id,
    instanceType: 't3.micro',
    pendingTime: new Date(i.now * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    privateIp: imdsGuestIp,
    region: 'us-east-1',
    version: '2017-09-30',
  };
  return {
    'meta-data/ami-id': document.imageId,
    'meta-data/hostname': i.hostname,
    'meta-data/instance-id': id,
    'meta-data/instance-type': document.instanceType,
    'meta-data/local-hostname': i.hostname,
    'meta-data/local-ipv4': imdsGuestIp,
    'meta-data/mac': i.mac,
    'meta-data/placement/availability-zone': document.availabilityZone,
    'meta-data/placement/region': document.region,
    'dynamic/instance-identity/document': JSON.stringify(document, null, 2),
  };
}

function get(path: string, i: ImdsInstance): ImdsResponse {
  if (path === '/latest/user-data')
    return i.userData ? reply(200, i.userData, { 'content-type': 'application/octet-stream' }) : reply(404, 'Not Found');
  if (path === '/') return reply(200, 'latest');
  if (!path.startsWith('/latest')) return reply(404, 'Not Found');
  const rel = path.slice('/latest'.length).replace(/^\/+/, '');
  const tree = metadataTree(i);
  if (i.userData) tree['user-data'] = '';
  const leaf = tree[rel];
  if (leaf !== undefined) return reply(200, leaf, rel.startsWith('dynamic/') ? { 'content-type': 'application/json' } : {});
  // A directory: its children, one a line, subdirectories with a trailing slash.
  const prefix = rel === '' ? '' : `${rel.replace(/\/$/, '')}/`;
  const children = new Set<string>();
  for (const k of Object.keys(tree)) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length).split('/');
    children.add(rest.length > 1 ? `${rest[0]}/` : rest[0]!);
  }
  return children.size ? reply(200, [...children].sort().join('\n')) : reply(404, 'Not Found');
}

/** Pure: the answer to one request. */
export function handleImds(req: ImdsRequest, i: ImdsInstance): ImdsResponse {
  const path = req.path.split('?')[0]!.replace(/\/{2,}/g, '/');
  if (req.method === 'PUT') {
    if (path !== '/latest/api/token') return reply(404, 'Not Found');
    // EC2 refuses token requests that went through a proxy.
    if (header(req, 'x-forwarded-for') !== undefined) return reply(403, 'Forbidden');
    const ttlText = header(req, ttlHeader);
    const ttl = Number(ttlText);
    if (!ttlText || !/^\d+$/.test(ttlText) || ttl < 1 || ttl > maxTtl) return reply(400, 'Bad Request');
    return reply(200, issueToken(i.key, i.now, ttl), { [ttlHeader]: String(ttl) });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'Method Not Allowed', { allow: 'GET, HEAD, PUT' });
  const token = header(req, tokenHeader);
  if (!token || !tokenValid(i.key, token, i.now)) return reply(401, 'Unauthorized');
  const r = get(path, i);
  return req.method === 'HEAD' ? { ...r, body: Buffer.alloc(0) } : r;
}
