import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';
import { selfSignedCert, SNAKEOIL_CERT, snakeoilKey } from '../builder/test/helpers/test-keys.js';

/**
 * `build --sign-key --sign-cert`: every EFI format carries the one signed UKI, which sbverify
 * (sbsigntool) accepts with the certificate, and OVMF with Secure Boot enforced (Debian's secboot
 * firmware and its variable store with the snakeoil keys enrolled, through `run qemu
 * --secure-boot`) boots it from the uki, raw-efi and aws outputs. The same UKI unsigned, or
 * signed with another key, never starts the init.
 */
const EFI_FORMATS = ['uki', 'raw-efi', 'iso-efi', 'aws', 'gcp', 'qcow2', 'vmdk', 'vhd'];
const ESP = '@@1M'; // mtools: the ESP starts at 1 MiB on every EFI disk

const outputs = (base: string): Record<string, string> => ({
  uki: `${base}.efi`,
  'raw-efi': `${base}-efi.img`,
  'iso-efi': `${base}-efi.iso`,
  aws: `${base}.raw`,
  gcp: `${base}.img.tar.gz`,
  qcow2: `${base}.qcow2`,
  vmdk: `${base}.vmdk`,
  vhd: `${base}.vhd`,
});

/** Takes EFI/BOOT/BOOTX64.EFI out of an output with third-party tools (qemu-img, tar, xorriso, mtools). */
async function extractUki(format: string, file: string, dir: string): Promise<string> {
  const out = join(dir, `${format}.efi`);
  const fromFat = (image: string) => execa('mcopy', ['-n', '-i', image, '::EFI/BOOT/BOOTX64.EFI', out]);
  if (format === 'uki') return file;
  if (format === 'raw-efi' || format === 'aws') await fromFat(`${file}${ESP}`);
  else if (format === 'iso-efi') {
    await execa('osirrox', ['-indev', file, '-extract', '/efi/efiboot.img', join(dir, 'efiboot.img')]);
    await fromFat(join(dir, 'efiboot.img'));
  } else if (format === 'gcp') {
    await execa('tar', ['-xzf', file, '-C', dir, 'disk.raw']);
    await fromFat(`${join(dir, 'disk.raw')}${ESP}`);
  } else {
    const raw = join(dir, `${format}.raw`);
    await execa('qemu-img', ['convert', '-f', format === 'vhd' ? 'vpc' : format, '-O', 'raw', file, raw]);
    await fromFat(`${raw}${ESP}`);
  }
  return out;
}

async function sbverify(cert: string, file: string): Promise<number> {
  return (await execa('sbverify', ['--cert', cert, file], { reject: false })).exitCode ?? -1;
}

/**
 * What OVMF's boot manager prints when the UKI (-kernel, its "Non-Block Boot Device") fails to
 * load and nothing else will start: it then waits for a key forever.
 */
const KERNEL_NOT_LOADED = /BdsDxe: failed to load Boot\d+ "UEFI Non-Block Boot Device"/;
const REFUSED = /BdsDxe: No bootable option or device was found/;

const secureBoot = (file: string, timeoutMs: number, until?: RegExp) =>
  boot(file, { append: '', args: ['--secure-boot', '--networking', 'none'], timeoutMs, until });

describe('Secure Boot: signed EFI outputs', () => {
  let work: string;
  let snakeoil: string;
  let signed: Record<string, string>;
  let otherKey: { key: string; cert: string };
  let unsignedUki: string;
  let otherUki: string;
  const ukis: Record<string, string> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lk-secure-boot-'));
    snakeoil = await snakeoilKey(join(work, 'snakeoil.key'));
    otherKey = { key: join(work, 'other.key'), cert: join(work, 'other.pem') };
    await selfSignedCert({ ...otherKey, subject: '/CN=not enrolled/', days: 3650 });
    signed = outputs(await buildCase('formats-efi', EFI_FORMATS, ['--sign-key', snakeoil, '--sign-cert', SNAKEOIL_CERT]));
    unsignedUki = outputs(await buildCase('formats-efi', ['uki'])).uki!;
    otherUki = outputs(await buildCase('formats-efi', ['uki'], ['--sign-key', otherKey.key, '--sign-cert', otherKey.cert])).uki!;
    for (const f of EFI_FORMATS) ukis[f] = await extractUki(f, signed[f]!, work);
  }, 900_000);

  test('sbverify accepts the UKI of every signed output with the certificate, and refuses it with another', async () => {
    for (const f of EFI_FORMATS) {
      expect(await sbverify(SNAKEOIL_CERT, ukis[f]!), f).toBe(0);
      expect(await sbverify(otherKey.cert, ukis[f]!), f).not.toBe(0);
    }
    expect(await sbverify(SNAKEOIL_CERT, unsignedUki)).not.toBe(0);
    expect(await sbverify(otherKey.cert, otherUki)).toBe(0);
  });

  test('the UKI is signed once: every output holds the same bytes', async () => {
    const uki = await readFile(ukis.uki!);
    for (const f of EFI_FORMATS) expect((await readFile(ukis[f]!)).equals(uki), f).toBe(true);
  });

  test('the private key is in no output', async () => {
    // The private exponent: what a leaked key would have to contain, in any encoding of it but base64.
    const jwk = createPrivateKey(await readFile(snakeoil)).export({ format: 'jwk' });
    const d = Buffer.from(jwk.d!, 'base64url');
    const pem = (await readFile(snakeoil, 'utf8')).split('\n')[1]!;
    for (const f of EFI_FORMATS) {
      const bytes = await readFile(signed[f]!);
      expect(bytes.indexOf(d.subarray(0, 32)), f).toBe(-1);
      expect(bytes.indexOf(pem), f).toBe(-1);
    }
  });

  describe('boots under OVMF with Secure Boot enforced', () => {
    const boots: Record<string, BootResult> = {};
    beforeAll(async () => {
      for (const f of ['uki', 'raw-efi', 'aws']) boots[f] = await secureBoot(signed[f]!, 300_000);
      // Stopped as soon as the firmware refuses the image; the timeout is only a backstop.
      boots.unsigned = await secureBoot(unsignedUki, 180_000, REFUSED);
      boots.other = await secureBoot(otherUki, 180_000, REFUSED);
    }, 1_500_000);

    test.each(['uki', 'raw-efi', 'aws'])('signed %s boots to ready', (f) => {
      const r = boots[f]!;
      expect(r.exitCode, r.output).toBe(0);
      // The stub and the kernel both say so; TCG's serial console under load can drop a byte of one.
      expect(r.output).toMatch(/EFI stub: UEFI Secure Boot is enabled|secureboot: Secure boot enabled/);
      const events = markers(r.output).map((m) => m.event);
      expect(events.indexOf('start')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('ready')).toBeGreaterThan(events.indexOf('start'));
    });

    test.each([
      ['unsigned', 'unsigned'],
      ['signed with a key not enrolled', 'other'],
    ])('a UKI %s is refused: the init never starts', (_, which) => {
      const r = boots[which]!;
      expect(r.timedOut, r.output).toBe(false);
      expect(r.output).toMatch(KERNEL_NOT_LOADED);
      expect(r.output).toMatch(REFUSED);
      expect(r.output).not.toContain('lk-init: start');
      expect(r.output).not.toContain('Linux version');
    });
  });
});
