import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { makeScratchDir } from '../fs/scratch.js';
import { runTool } from '../util/host-tool.js';

/**
 * Authenticode signing of the UKI, for UEFI Secure Boot.
 *
 * The signature is made by osslsigncode (Debian's package of the same name) rather than sbsign:
 * sbsign stamps the signature with the wall clock time, osslsigncode takes the signing time
 * from us (SOURCE_DATE_EPOCH), and RSA PKCS#1 v1.5 signatures are deterministic, so a signed
 * UKI is as reproducible as an unsigned one. sbverify checks the result in the tests.
 *
 * The key is read where the user keeps it: it is never copied, cached or embedded anywhere.
 */

export interface SigningKey {
  keyPath: string;
  certPath: string;
  /** The certificate's subject, for the build log. */
  subject: string;
}

const pemHint = 'give a PEM private key with --sign-key and its PEM certificate with --sign-cert';

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String(code ?? e);
    throw new LkError('sign', `cannot read the signing ${what} ${path}: ${why}`, pemHint, { cause: e });
  }
}

function parseKey(pem: Buffer, path: string): KeyObject {
  // PKCS#8 (ENCRYPTED PRIVATE KEY) and OpenSSL's traditional form (Proc-Type: 4,ENCRYPTED).
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem.toString('latin1'))) {
    throw new LkError(
      'sign',
      `the signing key ${path} is encrypted`,
      `decrypt a copy for the build: openssl pkey -in ${path} -out KEY (and keep KEY private)`,
    );
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new LkError('sign', `the signing key ${path} is not a PEM private key`, pemHint, { cause: e });
  }
}

function parseCert(pem: Buffer, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new LkError('sign', `the signing certificate ${path} is not a PEM X.509 certificate`, pemHint, { cause: e });
  }
}

/** Reads and checks a key and certificate before any work: both readable PEM, and the key the certificate's. */
export async function loadSigningKey(keyPath: string, certPath: string): Promise<SigningKey> {
  const key = parseKey(await readPem(keyPath, 'key'), keyPath);
  const cert = parseCert(await readPem(certPath, 'certificate'), certPath);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new LkError(
      'sign',
      `the signing key ${keyPath} is an ${key.asymmetricKeyType ?? 'unknown'} key, not RSA`,
      'UEFI Secure Boot verifies RSA signatures: use an RSA key (2048 bits is what firmware expects)',
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new LkError(
      'sign',
      `the signing key ${keyPath} does not belong to the certificate ${certPath}`,
      'give the private key whose public half the certificate holds',
    );
  }
  return { keyPath, certPath, subject: cert.subject.replace(/\n/g, ', ') };
}

/** Signs the EFI program `input` into `output` with an Authenticode signature dated `sourceDateEpoch`. */
export async function signEfi(key: SigningKey, input: string, output: string, sourceDateEpoch: number, format: string): Promise<void> {
  await runTool(
    'osslsigncode',
    ['sign', '-certs', key.certPath, '-key', key.keyPath, '-h', 'sha256', '-time', String(sourceDateEpoch), '-in', input, '-out', output],
    { user: `the ${format} format` },
  );
}

/**
 * Makes the build's signed UKI once, whichever EFI formats ask for it: the UKI is written
 * unsigned into a scratch directory of its own, signed there, and every format copies or embeds
 * the signed file.
 */
export class UkiSigner {
  private made?: Promise<string>;
  private dir?: string;

  constructor(
    readonly key: SigningKey,
    private readonly sourceDateEpoch: number,
  ) {}

  /** The signed UKI's path; `writeUnsigned` writes the unsigned UKI to the path it is given, the first time only. */
  signedUki(writeUnsigned: (path: string) => Promise<void>, format: string): Promise<string> {
    this.made ??= this.make(writeUnsigned, format);
    return this.made;
  }

  private async make(writeUnsigned: (path: string) => Promise<void>, format: string): Promise<string> {
    this.dir = await makeScratchDir('lkbuild-uki-');
    const unsigned = join(this.dir, 'unsigned.efi');
    const signed = join(this.dir, 'signed.efi');
    await writeUnsigned(unsigned);
    await signEfi(this.key, unsigned, signed, this.sourceDateEpoch, format);
    await rm(unsigned, { force: true });
    return signed;
  }

  async dispose(): Promise<void> {
    await this.made?.catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
