import { createPrivateKey, sign, X509Certificate, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from './registry-server.js';
import { selfSignedCert } from '../../helpers/test-keys.js';

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Scopes asked for, in order, for assertions. */
  requests: Array<{ user?: string; scopes: string[] }>;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * A token service for the registry's token auth: it signs JWTs (RS256) with a key whose
 * self-signed certificate, made with the openssl CLI, is the registry's rootcertbundle.
 * It grants every requested action to the one known user and refuses everyone else.
 */
export async function startTokenIssuer(dir: string, users: Record<string, string>): Promise<TokenIssuer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await selfSignedCert({ key: keyPath, cert: certPath, subject: '/CN=lk-test-issuer' });
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const port = await freePort();
  const service = 'lk-test-registry';
  const issuer = 'lk-test-issuer';
  const requests: TokenIssuer['requests'] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const scopes = url.searchParams.getAll('scope');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [user, pass] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [];
    requests.push({ user, scopes });
    if (!user || users[user] !== pass) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 600, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), key);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: `${signingInput}.${b64url(signature)}`, expires_in: 600 }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
