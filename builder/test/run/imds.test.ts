import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ec2InstanceId, handleImds, issueToken, tokenValid } from '../../src/run/imds.js';
import { ensureImdsKey, serveImdsConnection } from '../../src/run/imds-server.js';
import { instanceId, stateDir, type StateDir } from '../../src/run/state.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
const USER_DATA = '#!/bin/sh\necho provisioned\n';

/** A real HTTP client talking to the IMDS over a Unix socket, as the guest does over QEMU's guestfwd. */
function client(socketPath: string) {
  const dispatcher = new Agent({ connect: { socketPath } });
  return async (method: 'GET' | 'PUT' | 'POST', path: string, headers: Record<string, string> = {}) => {
    const r = await request(`http://169.254.169.254${path}`, { method, headers, dispatcher });
    return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
  };
}

async function listen(path: string, onConnection: (s: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

describe('IMDSv2 emulation', () => {
  let s: StateDir;
  let servers: Server[] = [];
  let inProcess: ReturnType<typeof client>;
  let perConnection: ReturnType<typeof client>;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-imds-'));
    s = stateDir(join(dir, 'state'));
    await import('node:fs/promises').then((fs) => fs.mkdir(s.dir));
    await instanceId(s);
    await ensureImdsKey(s);
    await writeFile(join(dir, 'user-data'), USER_DATA);
    const a = await listen(join(dir, 'a.sock'), (sock) => void serveImdsConnection(s, join(dir, 'user-data'), sock));
    // What QEMU does: one `lkbuild run _imds` process per connection, the connection on its stdio.
    const b = await listen(join(dir, 'b.sock'), (sock) => {
      spawn(process.execPath, [cli, 'run', '_imds', s.dir, join(dir, 'user-data')], { stdio: [sock, sock, 'inherit'] }).on('exit', () =>
        sock.destroy(),
      );
    });
    servers = [a, b];
    inProcess = client(join(dir, 'a.sock'));
    perConnection = client(join(dir, 'b.sock'));
  });

  afterAll(() => servers.forEach((x) => x.close()));

  test('GET without a token is 401; PUT gives a token; the token flow returns the user data', async () => {
    for (const imds of [inProcess, perConnection]) {
      expect((await imds('GET', '/latest/user-data')).status).toBe(401);
      const put = await imds('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' });
      expect(put.status).toBe(200);
      expect(put.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('300');
      const token = put.body;
      const got = await imds('GET', '/latest/user-data', { 'X-aws-ec2-metadata-token': token });
      expect(got).toMatchObject({ status: 200, body: USER_DATA });
      expect((await imds('GET', '/latest/user-data', { 'X-aws-ec2-metadata-token': `${token}x` })).status).toBe(401);
    }
  });

  test('a token from one connection process is good in another (they share the state key)', async () => {
    const token = (await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' })).body;
    const id = await perConnection('GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': token });
    expect(id.status).toBe(200);
    expect(id.body).toMatch(/^i-[0-9a-f]{17}$/);
  });

  test('the TTL header is required and bounded; proxied token requests and other methods are refused', async () => {
    expect((await inProcess('PUT', '/latest/api/token')).status).toBe(400);
    expect((await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '0' })).status).toBe(400);
    expect((await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '21601' })).status).toBe(400);
    expect((await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' })).status).toBe(200);
    expect(
      (await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.1' })).status,
    ).toBe(403);
    expect((await inProcess('POST', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' })).status).toBe(405);
  });

  test('the meta-data tree lists its entries like EC2', async () => {
    const token = (await inProcess('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' })).body;
    const get = (p: string) => inProcess('GET', p, { 'X-aws-ec2-metadata-token': token });
    const list = (await get('/latest/meta-data/')).body.split('\n');
    expect(list).toEqual(expect.arrayContaining(['instance-id', 'local-hostname', 'local-ipv4', 'placement/']));
    expect((await get('/latest/meta-data/placement/')).body).toBe('availability-zone\nregion');
    expect((await get('/latest/')).body.split('\n')).toEqual(['dynamic/', 'meta-data/', 'user-data']);
    const doc = JSON.parse((await get('/latest/dynamic/instance-identity/document')).body) as Record<string, string>;
    expect(doc.instanceId).toBe((await get('/latest/meta-data/instance-id')).body);
    expect((await get('/latest/meta-data/no-such-thing')).status).toBe(404);
  });
});

describe('IMDS tokens and requests (pure)', () => {
  const key = Buffer.alloc(32, 1);
  const instance = { key, now: 1_000_000, userData: null, instanceId: 'iid-0123456789abcdef', hostname: 'h', mac: '52:54:00:00:00:01' };

  test('a token expires after its TTL and is bound to the key', () => {
    const t = issueToken(key, 1_000_000, 60);
    expect(tokenValid(key, t, 1_000_059)).toBe(true);
    expect(tokenValid(key, t, 1_000_060)).toBe(false);
    expect(tokenValid(Buffer.alloc(32, 2), t, 1_000_000)).toBe(false);
    expect(tokenValid(key, t.replace(/^\d+/, '9999999999'), 1_000_000)).toBe(false);
  });

  test("no user data is 404 with a token; the instance id has EC2's form", () => {
    const token = issueToken(key, instance.now, 10);
    expect(handleImds({ method: 'GET', path: '/latest/user-data', headers: { 'x-aws-ec2-metadata-token': token } }, instance).status).toBe(
      404,
    );
    expect(ec2InstanceId(instance.instanceId)).toMatch(/^i-[0-9a-f]{17}$/);
  });
});
