import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

/** TLS material for one registry: extra CAs and an optional client certificate. */
export interface TlsSettings {
  /** The directory the settings came from (for messages). */
  dir: string;
  ca: string[];
  cert?: string;
  key?: string;
}

/**
 * Per-registry TLS settings in the certs.d layout Docker and Podman use: a folder named after
 * the registry ("reg.lan:5000") holding CA files (*.crt) and a client pair (x.cert + x.key).
 * Searched in $LKBUILD_CERTS_DIR, then /etc/docker/certs.d, /etc/containers/certs.d and
 * ~/.config/containers/certs.d; the first folder that exists wins.
 */
export async function loadTlsSettings(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<TlsSettings | undefined> {
  const roots = [
    env.LKBUILD_CERTS_DIR,
    '/etc/docker/certs.d',
    '/etc/containers/certs.d',
    join(env.HOME || homedir(), '.config/containers/certs.d'),
  ];
  for (const root of roots) {
    if (!root) continue;
    const dir = join(root, registry);
    const names = await readdir(dir).catch(() => undefined);
    if (!names) continue;
    const settings: TlsSettings = { dir, ca: [] };
    for (const name of names.sort()) {
      if (name.endsWith('.crt')) settings.ca.push(await readFile(join(dir, name), 'utf8'));
      if (name.endsWith('.cert') && names.includes(name.replace(/\.cert$/, '.key'))) {
        settings.cert = await readFile(join(dir, name), 'utf8');
        settings.key = await readFile(join(dir, name.replace(/\.cert$/, '.key')), 'utf8');
      }
    }
    return settings;
  }
  return undefined;
}

/** Connect options for undici: the system CAs plus the registry's own. */
export function tlsConnectOptions(settings: TlsSettings | undefined): { ca?: string[]; cert?: string; key?: string } {
  if (!settings) return {};
  return {
    ...(settings.ca.length > 0 ? { ca: [...rootCertificates, ...settings.ca] } : {}),
    ...(settings.cert && settings.key ? { cert: settings.cert, key: settings.key } : {}),
  };
}
