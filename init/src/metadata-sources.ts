// Which metadata providers to try, and the HTTP they speak. Pure; metadata.ts does the I/O.

export type ProviderKind = 'nocloud' | 'aws' | 'gcp' | 'file';

export interface ProviderSpec {
  kind: ProviderKind;
  /** file: the node path to read user data from. */
  path?: string;
}

export const DEFAULT_ORDER: ProviderKind[] = ['nocloud', 'aws', 'gcp', 'file'];
/** The file provider's default: a build file can ship it (`files:`), an operator can drop it on the data disk's /var path. */
export const DEFAULT_USERDATA_FILE = '/etc/lk/user-data';
/** Node paths the metadata container can read for the file provider (bound from the node). */
export const FILE_ROOTS = ['/etc/', '/run/', '/var/'];

/**
 * The providers to try, in order: lk.metadata=<kind>[,<kind>...] (file may be file:<path>), or
 * every provider in the default order. An unknown name is an error, not a silent skip.
 */
export function providerOrder(setting: string | undefined): { ok: true; order: ProviderSpec[] } | { ok: false; error: string } {
  if (setting === undefined || setting.trim() === '')
    return { ok: true, order: DEFAULT_ORDER.map((kind) => (kind === 'file' ? { kind, path: DEFAULT_USERDATA_FILE } : { kind })) };
  const order: ProviderSpec[] = [];
  for (const word of setting.split(',').map((w) => w.trim())) {
    const colon = word.indexOf(':');
    const name = colon < 0 ? word : word.slice(0, colon);
    const arg = colon < 0 ? undefined : word.slice(colon + 1);
    if (!(DEFAULT_ORDER as string[]).includes(name)) {
      return {
        ok: false,
        error: `lk.metadata names "${word}"; known providers are ${DEFAULT_ORDER.join(', ')} (file:<path> for another file)`,
      };
    }
    if (arg !== undefined && name !== 'file')
      return { ok: false, error: `lk.metadata: "${word}": only file takes an argument (file:<path>)` };
    if (name === 'file') {
      const path = arg ?? DEFAULT_USERDATA_FILE;
      if (!FILE_ROOTS.some((r) => path.startsWith(r)) || path.split('/').includes('..')) {
        return { ok: false, error: `lk.metadata: "${word}": the file must be under ${FILE_ROOTS.join(', ')}` };
      }
      order.push({ kind: 'file', path });
    } else {
      order.push({ kind: name as ProviderKind });
    }
  }
  return { ok: true, order };
}

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** An HTTP/1.0 request (no chunked replies, the connection closes at the end of the body). */
export function httpRequest(method: string, host: string, path: string, headers: Record<string, string>): string {
  const lines = [
    `${method} ${path} HTTP/1.0`,
    `Host: ${host}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (method === 'PUT' || method === 'POST') lines.push('Content-Length: 0');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Parses a whole response read until the server closed the connection. */
export function parseHttpResponse(raw: string): HttpResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP response: "${statusLine.slice(0, 60)}"`);
  if (end < 0) throw new Error('the HTTP response ended inside its headers');
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) throw new Error('the server sent a chunked reply to an HTTP/1.0 request');
  return { status: Number(m[1]), headers, body: raw.slice(end + 4) };
}

/** GCP's ssh-keys attribute: "user:ssh-ed25519 AAAA... comment" per line; the keys without the user. */
export function gcpSshKeys(attribute: string): string[] {
  return attribute
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => (/^[^:\s]+:(ssh-|ecdsa-|sk-)/.test(line) ? line.slice(line.indexOf(':') + 1) : line));
}

export interface VolumeLabel {
  fs: 'iso9660' | 'vfat';
  label: string;
}

/**
 * The file system and label of a block device from its first bytes: `boot` the first 512
 * bytes, `iso` the 2048 at 32 KiB (ISO 9660's primary volume descriptor), either may be short.
 */
export function volumeLabel(boot: Uint8Array, iso: Uint8Array): VolumeLabel | null {
  const text = (b: Uint8Array, from: number, len: number) => String.fromCharCode(...b.subarray(from, from + len)).replace(/[\0 ]+$/, '');
  if (iso.length >= 72 && iso[0] === 1 && text(iso, 1, 5) === 'CD001') return { fs: 'iso9660', label: text(iso, 40, 32) };
  if (boot.length >= 512 && boot[510] === 0x55 && boot[511] === 0xaa) {
    if (text(boot, 82, 8) === 'FAT32') return { fs: 'vfat', label: text(boot, 71, 11) };
    if (text(boot, 54, 8).startsWith('FAT1')) return { fs: 'vfat', label: text(boot, 43, 11) };
  }
  return null;
}
