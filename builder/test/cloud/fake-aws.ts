/**
 * A loopback stand-in for EC2, the EBS direct APIs and the instance metadata service, for the
 * push/run tests. It checks each request the way AWS documents it: a SigV4 signature it
 * recomputes itself from the bytes on the wire (not with lkbuild's signer), the checksum and
 * length of every block, the changed-block count and LINEAR aggregate checksum, and the order
 * of calls (no block before StartSnapshot, no AMI from a snapshot that is not completed). It
 * can be told to fail: throttle, answer 5xx, or declare a session token expired.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackFake, type PlannedFault } from './loopback.js';

export const REGION = 'eu-west-1';
const BLOCK = 512 * 1024;

interface Key {
  secret: string;
  token?: string;
  expired: boolean;
}
interface Snapshot {
  id: string;
  volumeSize: number;
  clientToken: string;
  status: 'pending' | 'completed';
  blocks: Map<number, Buffer>;
  tags: Record<string, string>;
  describedPending: number;
}
export interface Image {
  id: string;
  name: string;
  params: Record<string, string>;
  tags: Record<string, string>;
}
export interface Fault extends PlannedFault {
  status: number;
  code: string;
}

export class FakeAws extends LoopbackFake<Fault> {
  readonly calls: string[] = [];
  /** Every rejected request, with the reason: a test expects this to stay empty. */
  readonly violations: string[] = [];
  readonly snapshots = new Map<string, Snapshot>();
  readonly images: Image[] = [];
  readonly instances = new Map<
    string,
    { imageId: string; userData: string; state: string; consoleCalls: number; params: Record<string, string> }
  >();
  readonly keys = new Map<string, Key>([['AKIDSTATIC', { secret: 'static-secret', expired: false }]]);
  /** Expire the IMDS key in use after this many PutSnapshotBlock calls. */
  expireImdsKeyAfterBlocks?: number;
  imdsIssued = 0;
  /** The console stops before the ready line. */
  neverReady = false;
  private blockCalls = 0;
  protected handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    try {
      if (url.pathname.startsWith('/latest/')) return this.imds(req, url, res);
      const service = url.pathname.startsWith('/snapshots') ? 'ebs' : 'ec2';
      const op = service === 'ebs' ? ebsOp(req.method ?? '', url.pathname) : (new URLSearchParams(body.toString()).get('Action') ?? '?');
      const auth = this.checkSignature(req, body, service);
      if (auth === 'expired')
        return this.error(
          res,
          service,
          400,
          service === 'ebs' ? 'ExpiredTokenException' : 'ExpiredToken',
          'The security token included in the request is expired',
        );
      if (auth) {
        this.violations.push(`${op}: ${auth}`);
        return this.error(res, service, 403, 'SignatureDoesNotMatch', auth);
      }
      const fault = this.takeFault(op);
      if (fault) return this.error(res, service, fault.status, fault.code, 'injected');
      this.calls.push(op);
      if (service === 'ebs') return this.ebs(op, req, url, body, res);
      return this.ec2(op, new URLSearchParams(body.toString()), res);
    } catch (e) {
      this.violations.push(String(e));
      this.error(res, 'ec2', 400, 'InvalidParameterValue', String(e));
    }
  }

  /** Recomputes the signature from the request as received; returns what is wrong, if anything. */
  private checkSignature(req: IncomingMessage, body: Buffer, service: string): string | 'expired' | undefined {
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
        req.headers.authorization ?? '',
      );
    if (!m) return `malformed Authorization: ${req.headers.authorization}`;
    const [, akid, day, region, svc, signedList, signature] = m;
    const key = this.keys.get(akid);
    if (!key) return `unknown access key ${akid}`;
    if (region !== REGION || svc !== service) return `scope ${region}/${svc}, expected ${REGION}/${service}`;
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(day)) return 'x-amz-date does not match the scope';
    const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!(Math.abs(Date.now() - when) < 15 * 60_000)) return `x-amz-date ${amzDate} is not now`;
    const signed = signedList.split(';');
    for (const need of ['host', 'x-amz-date', ...(key.token ? ['x-amz-security-token'] : [])])
      if (!signed.includes(need)) return `${need} is not signed`;
    if (key.token && req.headers['x-amz-security-token'] !== key.token) return 'wrong session token';
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const given = req.headers['x-amz-content-sha256'];
    if (given !== undefined && given !== bodyHash) return 'x-amz-content-sha256 is not the hash of the body';
    const raw = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i].toLowerCase();
      raw.set(n, [...(raw.get(n) ?? []), req.rawHeaders[i + 1].trim().replace(/ +/g, ' ')]);
    }
    const [path, query = ''] = (req.url ?? '/').split('?');
    const q = query ? query.split('&').sort().join('&') : '';
    const creq = [req.method, path, q, signed.map((h) => `${h}:${(raw.get(h) ?? []).join(',')}\n`).join(''), signedList, bodyHash].join(
      '\n',
    );
    const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${day}/${region}/${svc}/aws4_request\n${createHash('sha256').update(creq).digest('hex')}`;
    let k: Buffer = createHmac('sha256', `AWS4${key.secret}`).update(day).digest();
    for (const part of [region, svc, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
    if (createHmac('sha256', k).update(sts).digest('hex') !== signature) return 'signature does not match';
    return key.expired ? 'expired' : undefined;
  }

  private imds(req: IncomingMessage, url: URL, res: ServerResponse): void {
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.writeHead(200).end('imds-session');
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-session') return void res.writeHead(401).end();
    if (url.pathname === '/latest/meta-data/iam/security-credentials/') return void res.writeHead(200).end('node-role');
    if (url.pathname === '/latest/meta-data/iam/security-credentials/node-role') {
      this.imdsIssued++;
      const akid = `ASIAIMDS${this.imdsIssued}`;
      this.keys.set(akid, { secret: `imds-secret-${this.imdsIssued}`, token: `imds-token-${this.imdsIssued}`, expired: false });
      this.calls.push('IMDS credentials');
      return void res.writeHead(200).end(
        JSON.stringify({
          Code: 'Success',
          AccessKeyId: akid,
          SecretAccessKey: `imds-secret-${this.imdsIssued}`,
          Token: `imds-token-${this.imdsIssued}`,
        }),
      );
    }
    res.writeHead(404).end();
  }

  private error(res: ServerResponse, service: string, status: number, code: string, message: string): void {
    if (service === 'ebs') {
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazon.zeppelindataservice/`,
      });
      return void res.end(JSON.stringify({ message }));
    }
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message.replace(/[<&]/g, '')}</Message></Error></Errors><RequestID>r</RequestID></Response>`,
    );
  }

  private ebs(op: string, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): void {
    const json = (status: number, v: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    const parts = url.pathname.split('/');
    if (op === 'StartSnapshot') {
      const b = JSON.parse(body.toString()) as { VolumeSize: number; ClientToken: string; Tags?: { Key: string; Value: string }[] };
      if (!Number.isInteger(b.VolumeSize) || b.VolumeSize < 1) throw new Error('StartSnapshot: VolumeSize');
      const again = [...this.snapshots.values()].find((s) => s.clientToken === b.ClientToken);
      const snap = again ?? {
        id: `snap-${(this.snapshots.size + 1).toString(16).padStart(17, '0')}`,
        volumeSize: b.VolumeSize,
        clientToken: b.ClientToken,
        status: 'pending' as const,
        blocks: new Map(),
        tags: Object.fromEntries((b.Tags ?? []).map((t) => [t.Key, t.Value])),
        describedPending: 0,
      };
      this.snapshots.set(snap.id, snap);
      return json(201, { SnapshotId: snap.id, Status: snap.status, BlockSize: BLOCK, VolumeSize: snap.volumeSize });
    }
    const snap = this.snapshots.get(op === 'PutSnapshotBlock' ? parts[2] : parts[3]);
    if (!snap) throw new Error(`${op}: no such snapshot`);
    if (snap.status !== 'pending') throw new Error(`${op}: snapshot is ${snap.status}`);
    if (op === 'PutSnapshotBlock') {
      const index = Number(parts[4]);
      const sha = createHash('sha256').update(body).digest('base64');
      if (req.headers['x-amz-data-length'] !== String(BLOCK) || body.length !== BLOCK) throw new Error(`block ${index}: length`);
      if (req.headers['x-amz-checksum-algorithm'] !== 'SHA256' || req.headers['x-amz-checksum'] !== sha)
        throw new Error(`block ${index}: checksum`);
      if (!(index >= 0 && index < (snap.volumeSize * 1024 ** 3) / BLOCK)) throw new Error(`block ${index}: out of the volume`);
      if (body.every((x) => x === 0)) throw new Error(`block ${index}: all zeros were sent`);
      snap.blocks.set(index, body);
      this.blockCalls++;
      if (this.expireImdsKeyAfterBlocks !== undefined && this.blockCalls === this.expireImdsKeyAfterBlocks) {
        for (const k of this.keys.values()) if (k.token) k.expired = true;
      }
      return json(201, { Checksum: sha, ChecksumAlgorithm: 'SHA256' });
    }
    if (op === 'CompleteSnapshot') {
      const count = Number(req.headers['x-amz-changedblockscount']);
      if (count !== snap.blocks.size) throw new Error(`CompleteSnapshot: ${count} changed blocks, ${snap.blocks.size} written`);
      const agg = createHash('sha256');
      for (const i of [...snap.blocks.keys()].sort((a, b) => a - b)) agg.update(createHash('sha256').update(snap.blocks.get(i)!).digest());
      if (req.headers['x-amz-checksum-aggregation-method'] !== 'LINEAR' || req.headers['x-amz-checksum'] !== agg.digest('base64'))
        throw new Error('CompleteSnapshot: aggregate checksum');
      snap.status = 'completed';
      snap.describedPending = 1; // one DescribeSnapshots still says pending, as EBS seals asynchronously
      return json(202, { Status: 'pending' });
    }
    throw new Error(`unknown EBS call ${req.method} ${url.pathname}`);
  }

  private ec2(op: string, p: URLSearchParams, res: ServerResponse): void {
    if (p.get('Version') !== '2016-11-15') throw new Error(`${op}: Version`);
    const xml = (inner: string) =>
      void res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<${op}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>${inner}</${op}Response>`,
        );
    const tagSet = (tags: Record<string, string>) =>
      `<tagSet>${Object.entries(tags)
        .map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`)
        .join('')}</tagSet>`;
    const filterDigest = p.get('Filter.1.Name') === 'tag:lkbuild:digest' ? p.get('Filter.1.Value.1') : undefined;
    if (op === 'DescribeImages') {
      if (p.get('Owner.1') !== 'self') throw new Error('DescribeImages: Owner.1');
      const found = this.images.filter((i) => i.tags['lkbuild:digest'] === filterDigest);
      return xml(
        `<imagesSet>${found.map((i) => `<item><imageId>${i.id}</imageId><imageState>available</imageState><name>${i.name}</name><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName></item></blockDeviceMapping>${tagSet(i.tags)}</item>`).join('')}</imagesSet>`,
      );
    }
    if (op === 'DescribeSnapshots') {
      const byId = p.get('SnapshotId.1');
      const found = [...this.snapshots.values()].filter((s) =>
        byId ? s.id === byId : s.tags['lkbuild:digest'] === filterDigest && s.status === p.get('Filter.2.Value.1'),
      );
      const status = (s: Snapshot) => (s.describedPending-- > 0 ? 'pending' : s.status);
      return xml(
        `<snapshotSet>${found.map((s) => `<item><snapshotId>${s.id}</snapshotId><status>${byId ? status(s) : s.status}</status>${tagSet(s.tags)}</item>`).join('')}</snapshotSet>`,
      );
    }
    if (op === 'RegisterImage') {
      const snap = this.snapshots.get(p.get('BlockDeviceMapping.1.Ebs.SnapshotId') ?? '');
      if (snap?.status !== 'completed') throw new Error('RegisterImage: the snapshot is not completed');
      if (this.images.some((i) => i.name === p.get('Name')))
        return this.error(res, 'ec2', 400, 'InvalidAMIName.Duplicate', 'AMI name is already in use');
      const tags: Record<string, string> = {};
      if (p.get('TagSpecification.1.ResourceType') === 'image')
        for (let i = 1; p.get(`TagSpecification.1.Tag.${i}.Key`); i++)
          tags[p.get(`TagSpecification.1.Tag.${i}.Key`)!] = p.get(`TagSpecification.1.Tag.${i}.Value`)!;
      const image = {
        id: `ami-${(this.images.length + 1).toString(16).padStart(17, '0')}`,
        name: p.get('Name')!,
        params: Object.fromEntries(p),
        tags,
      };
      this.images.push(image);
      return xml(`<imageId>${image.id}</imageId>`);
    }
    if (op === 'RunInstances') {
      const imageId = p.get('ImageId')!;
      if (!this.images.some((i) => i.id === imageId)) return this.error(res, 'ec2', 400, 'InvalidAMIID.NotFound', `no image ${imageId}`);
      const id = `i-${(this.instances.size + 1).toString(16).padStart(17, '0')}`;
      this.instances.set(id, {
        imageId,
        userData: Buffer.from(p.get('UserData') ?? '', 'base64').toString(),
        state: 'running',
        consoleCalls: 0,
        params: Object.fromEntries(p),
      });
      return xml(
        `<reservationId>r-1</reservationId><instancesSet><item><instanceId>${id}</instanceId><imageId>${imageId}</imageId></item></instancesSet>`,
      );
    }
    if (op === 'GetConsoleOutput') {
      const inst = this.instances.get(p.get('InstanceId')!);
      if (!inst) return this.error(res, 'ec2', 400, 'InvalidInstanceID.NotFound', 'no such instance');
      const lines = [
        'lk-init: start uptime=0.4',
        'lk-init: onboot metadata exit=0 uptime=1.0',
        'lk-init: service sshd started pid=90 uptime=1.2',
        'lk-init: ready uptime=1.3',
      ];
      const text = lines
        .slice(0, Math.min(inst.consoleCalls++, this.neverReady ? 3 : 4))
        .map((l) => `${l}\n`)
        .join('');
      return xml(`<instanceId>${p.get('InstanceId')}</instanceId><output>${Buffer.from(text).toString('base64')}</output>`);
    }
    if (op === 'TerminateInstances') {
      const inst = this.instances.get(p.get('InstanceId.1')!);
      if (!inst) return this.error(res, 'ec2', 400, 'InvalidInstanceID.NotFound', 'no such instance');
      inst.state = 'terminated';
      return xml(`<instancesSet><item><instanceId>${p.get('InstanceId.1')}</instanceId></item></instancesSet>`);
    }
    throw new Error(`unknown EC2 action ${op}`);
  }
}

function ebsOp(method: string, path: string): string {
  if (method === 'POST' && path === '/snapshots') return 'StartSnapshot';
  if (method === 'PUT' && /^\/snapshots\/[^/]+\/blocks\/\d+$/.test(path)) return 'PutSnapshotBlock';
  if (method === 'POST' && /^\/snapshots\/completion\/[^/]+$/.test(path)) return 'CompleteSnapshot';
  return `${method} ${path}`;
}

/** The disk the snapshot holds, block by block (zeros where nothing was written). */
export function snapshotSha256(snap: { volumeSize: number; blocks: Map<number, Buffer> }, size: number): string {
  const h = createHash('sha256');
  const zero = Buffer.alloc(BLOCK);
  for (let i = 0; i * BLOCK < size; i++) h.update((snap.blocks.get(i) ?? zero).subarray(0, Math.min(BLOCK, size - i * BLOCK)));
  return h.digest('hex');
}
