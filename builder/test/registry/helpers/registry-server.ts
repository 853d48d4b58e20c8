import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { selfSignedCert } from '../../helpers/test-keys.js';

export interface RunningRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; realm: string; service: string; issuer: string; certPath: string };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Debian's docker-registry on 127.0.0.1 with a random free port and a temp storage dir. */
export async function startRegistry(
  auth: RegistryAuth = { kind: 'none' },
  tls?: { certPath: string; keyPath: string },
): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-registry-'));
  const port = await freePort();
  let authYaml = '';
  if (auth.kind === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    let first = true;
    for (const [user, pass] of Object.entries(auth.users)) {
      await execa('htpasswd', [...(first ? ['-c'] : []), '-B', '-b', file, user, pass]);
      first = false;
    }
    authYaml = `auth:\n  htpasswd:\n    realm: lk-test\n    path: ${file}\n`;
  } else if (auth.kind === 'token') {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.certPath}\n`;
  }
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls ? `  tls:\n    certificate: ${tls.certPath}\n    key: ${tls.keyPath}\n` : ''}${authYaml}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await accepts(port);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A registry speaking HTTPS with a self-signed certificate for 127.0.0.1, and a certs.d folder
 * ($LKBUILD_CERTS_DIR) that holds it as the registry's CA.
 */
export async function startTlsRegistry(auth: RegistryAuth = { kind: 'none' }): Promise<{ registry: RunningRegistry; certsDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-tls-'));
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  await selfSignedCert({ key: keyPath, cert: certPath, subject: '/CN=127.0.0.1', altName: 'IP:127.0.0.1' });
  const registry = await startRegistry(auth, { certPath, keyPath });
  const certsDir = await mkdtemp(join(tmpdir(), 'lk-certs-d-'));
  await mkdir(join(certsDir, registry.host));
  await copyFile(certPath, join(certsDir, registry.host, 'ca.crt'));
  return { registry, certsDir };
}
