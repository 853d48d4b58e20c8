import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LkError } from '../errors.js';
import { cliEntry } from '../own-files.js';
import { handleImds, imdsGuestIp, type ImdsInstance } from './imds.js';
import { instanceMac } from './network.js';
import type { StateDir } from './state.js';

/**
 * The IMDS HTTP server. QEMU's guestfwd runs `lkbuild run _imds STATE USERDATA` once per guest
 * connection to 169.254.169.254:80, with the connection on stdin/stdout; that process serves the
 * connection and exits. Nothing listens on the host: the guest alone can reach it.
 */

/** The state directory's token key, created by the run that starts the node. */
export async function ensureImdsKey(s: StateDir): Promise<void> {
  const existing = await readFile(s.imdsSecret).catch(() => null);
  if (existing?.length === 32) return;
  await writeFile(s.imdsSecret, randomBytes(32), { mode: 0o600 });
}

/** The command QEMU runs per connection: this Node with the lkbuild CLI. */
export function imdsCommand(s: StateDir, userDataFile: string): string[] {
  const cli = fileURLToPath(cliEntry);
  return [process.execPath, cli, 'run', '_imds', s.dir, userDataFile];
}

async function instance(s: StateDir, userDataFile: string): Promise<Omit<ImdsInstance, 'now'>> {
  const [key, id, userData] = await Promise.all([
    readFile(s.imdsSecret),
    readFile(s.instanceIdFile, 'utf8').then((t) => t.trim()),
    readFile(userDataFile).catch(() => null),
  ]);
  if (key.length !== 32) throw new LkError('run', `${s.imdsSecret} is not an IMDS key`);
  const hostname = `ip-${imdsGuestIp.replace(/\./g, '-')}.ec2.internal`;
  return { key, instanceId: id, userData, hostname, mac: instanceMac(id) };
}

/** Serves the HTTP connection on `socket` (one request or a keep-alive series) and resolves when it closes. */
export async function serveImdsConnection(s: StateDir, userDataFile: string, socket: Socket): Promise<void> {
  const base = await instance(s, userDataFile);
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const r = handleImds(
      { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers },
      { ...base, now: Math.floor(Date.now() / 1000) },
    );
    res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length), server: 'EC2ws' });
    res.end(r.body);
  });
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    server.emit('connection', socket);
  });
}

/** The per-connection entry point: the connection is this process's stdin (and stdout). */
export async function serveImdsStdio(s: StateDir, userDataFile: string): Promise<void> {
  await serveImdsConnection(s, userDataFile, new Socket({ fd: 0, readable: true, writable: true }));
}
