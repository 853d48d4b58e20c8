// Keys and certificates for tests, made with the openssl CLI: self-signed certificates (TLS,
// token signing, Secure Boot signing) and Debian's OVMF snakeoil key, which OVMF_VARS.ms.fd
// enrolls, so a UKI signed with it boots under Secure Boot.
import { execa } from 'execa';

export interface SelfSignedRequest {
  key: string;
  cert: string;
  /** openssl's -subj, e.g. "/CN=127.0.0.1". */
  subject: string;
  days?: number;
  /** -addext subjectAltName=..., e.g. "IP:127.0.0.1". */
  altName?: string;
  /** How the key is made; default a new unencrypted RSA 2048 key. */
  keyArgs?: string[];
}

/** Writes a self-signed certificate and its key. */
export async function selfSignedCert(r: SelfSignedRequest): Promise<void> {
  await execa('openssl', [
    'req',
    '-x509',
    ...(r.keyArgs ?? ['-newkey', 'rsa:2048', '-nodes']),
    '-keyout',
    r.key,
    '-out',
    r.cert,
    '-days',
    String(r.days ?? 2),
    '-subj',
    r.subject,
    ...(r.altName ? ['-addext', `subjectAltName=${r.altName}`] : []),
  ]);
}

export const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

/** Debian's snakeoil key, which it ships encrypted with the passphrase "snakeoil", written unencrypted to `dest`. */
export async function snakeoilKey(dest: string): Promise<string> {
  await execa('openssl', ['pkey', '-in', '/usr/share/ovmf/PkKek-1-snakeoil.key', '-passin', 'pass:snakeoil', '-out', dest]);
  return dest;
}
