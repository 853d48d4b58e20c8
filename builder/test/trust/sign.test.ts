// Signing keys are checked before any work, and a signed EFI program passes sbverify (sbsigntool,
// a third-party checker) with its certificate and only with it. Keys are made here with openssl.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isLkError } from '../../src/errors.js';
import { loadSigningKey, signEfi, UkiSigner } from '../../src/trust/sign.js';
import { selfSignedCert } from '../helpers/test-keys.js';

const repo = resolve(import.meta.dirname, '../../..');
const cli = join(repo, 'builder/bin/lkbuild.js');
const stub = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

let work: string;
const pair = (n: string) => ({ key: join(work, `${n}.key`), cert: join(work, `${n}.pem`) });

async function makePair(n: string, keyArgs = ['-newkey', 'rsa:2048', '-nodes']): Promise<void> {
  const p = pair(n);
  await selfSignedCert({ ...p, subject: `/CN=lkbuild test ${n}/`, days: 3650, keyArgs });
}

async function sbverify(cert: string, file: string): Promise<number> {
  return (await execa('sbverify', ['--cert', cert, file], { reject: false })).exitCode ?? -1;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-sign-'));
  await makePair('a');
  await makePair('b');
  await makePair('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']);
  await execa('openssl', ['pkey', '-in', pair('a').key, '-aes256', '-passout', 'pass:secret', '-out', join(work, 'encrypted.key')]);
  await writeFile(join(work, 'junk.key'), 'not a key\n');
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function signError(key: string, cert: string): Promise<string> {
  try {
    await loadSigningKey(key, cert);
  } catch (e) {
    expect(isLkError(e) && e.kind).toBe('sign');
    return (e as Error).message;
  }
  throw new Error('loadSigningKey accepted it');
}

describe('loadSigningKey', () => {
  test('a matching RSA key and certificate are accepted, with the subject', async () => {
    const k = await loadSigningKey(pair('a').key, pair('a').cert);
    expect(k.subject).toContain('CN=lkbuild test a');
  });

  test('every bad input is refused with a message naming the file', async () => {
    expect(await signError(join(work, 'missing.key'), pair('a').cert)).toBe(
      `cannot read the signing key ${join(work, 'missing.key')}: it does not exist`,
    );
    expect(await signError(pair('a').key, join(work, 'missing.pem'))).toMatch(
      /cannot read the signing certificate .*missing\.pem: it does not exist/,
    );
    expect(await signError(work, pair('a').cert)).toMatch(/it is a directory/);
    expect(await signError(join(work, 'junk.key'), pair('a').cert)).toMatch(/junk\.key is not a PEM private key/);
    expect(await signError(pair('a').key, join(work, 'junk.key'))).toMatch(/junk\.key is not a PEM X\.509 certificate/);
    expect(await signError(join(work, 'encrypted.key'), pair('a').cert)).toMatch(/encrypted\.key is encrypted/);
    expect(await signError(pair('a').key, pair('b').cert)).toMatch(/a\.key does not belong to the certificate .*b\.pem/);
    expect(await signError(pair('ec').key, pair('ec').cert)).toMatch(/ec\.key is an ec key, not RSA/);
  });
});

describe('signing an EFI program', () => {
  test('sbverify accepts it with its certificate and refuses it with another; the bytes do not depend on the time', async () => {
    const key = await loadSigningKey(pair('a').key, pair('a').cert);
    const one = join(work, 'one.efi');
    const two = join(work, 'two.efi');
    await signEfi(key, stub, one, 1_700_000_000, 'uki');
    await new Promise((r) => setTimeout(r, 1100)); // a wall clock in the signature would now differ
    await signEfi(key, stub, two, 1_700_000_000, 'uki');
    expect(await sbverify(pair('a').cert, stub)).not.toBe(0); // the stub itself is unsigned
    expect(await sbverify(pair('a').cert, one)).toBe(0);
    expect(await sbverify(pair('b').cert, one)).not.toBe(0);
    const digest = async (f: string) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex');
    expect(await digest(two)).toBe(await digest(one));
  }, 60_000);

  test('UkiSigner writes and signs the UKI once, however many formats ask', async () => {
    const signer = new UkiSigner(await loadSigningKey(pair('a').key, pair('a').cert), 0);
    let writes = 0;
    const write = async (path: string) => {
      writes++;
      await writeFile(path, await readFile(stub));
    };
    const [p1, p2] = await Promise.all([signer.signedUki(write, 'uki'), signer.signedUki(write, 'raw-efi')]);
    expect(p2).toBe(p1);
    expect(writes).toBe(1);
    expect(await sbverify(pair('a').cert, p1)).toBe(0);
    await signer.dispose();
    await expect(readFile(p1)).rejects.toThrow(/ENOENT/);
  }, 60_000);
});

describe('lkbuild build --sign-key', () => {
  async function build(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string; written: string[] }> {
    const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
    await mkdir(out);
    const yml = join(work, 'node.yml');
    await writeFile(yml, 'kernel:\n  image: linuxkit/kernel:6.6.13\n  cmdline: console=ttyS0\ninit:\n  - linuxkit/init:v1.0.0\n');
    const r = await execa(process.execPath, [cli, 'build', '-o', out, ...args, yml], {
      reject: false,
      env: { LKBUILD_CACHE: join(work, 'cache'), ...env },
    });
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return { code: r.exitCode ?? -1, stderr: r.stderr, written: await readdir(out) };
  }

  test('a key that does not match the certificate: exit 1, the reason, nothing written', async () => {
    const r = await build(['-f', 'uki', '-f', 'raw-efi', '--sign-key', pair('a').key, '--sign-cert', pair('b').cert]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`lkbuild: error: the signing key ${pair('a').key} does not belong to the certificate ${pair('b').cert}`);
    expect(r.written).toEqual([]);
  }, 60_000);

  test('a missing key file: exit 1, nothing written', async () => {
    const r = await build(['-f', 'aws', '--sign-key', join(work, 'nope.key'), '--sign-cert', pair('a').cert]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read the signing key .*nope\.key: it does not exist/);
    expect(r.written).toEqual([]);
  }, 60_000);

  test('osslsigncode missing: exit 1 naming the Debian package, before any image is fetched', async () => {
    const r = await build(['-f', 'uki', '--sign-key', pair('a').key, '--sign-cert', pair('a').cert], { PATH: '/nonexistent' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the signed uki format needs osslsigncode, which is not installed');
    expect(r.stderr).toContain('install the Debian package osslsigncode');
    expect(r.written).toEqual([]);
  }, 60_000);

  test('usage: a key without a certificate, or no EFI format to sign', async () => {
    const half = await build(['-f', 'uki', '--sign-key', pair('a').key]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--sign-key needs --sign-cert');
    const noEfi = await build(['-f', 'kernel+initrd', '-f', 'iso-bios', '--sign-key', pair('a').key, '--sign-cert', pair('a').cert]);
    expect(noEfi.code).toBe(2);
    expect(noEfi.stderr).toContain('none is requested (kernel+initrd, iso-bios)');
    expect(noEfi.written).toEqual([]);
  }, 60_000);
});
