import { mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { gcpSshKeys, httpRequest, parseHttpResponse, providerOrder, volumeLabel } from '../src/metadata-sources.js';

describe('providerOrder', () => {
  it('tries NoCloud, AWS, GCP and the default file, in that order, when lk.metadata is not given', () => {
    expect(providerOrder(undefined)).toEqual({
      ok: true,
      order: [{ kind: 'nocloud' }, { kind: 'aws' }, { kind: 'gcp' }, { kind: 'file', path: '/etc/lk/user-data' }],
    });
    expect(providerOrder('  ')).toEqual(providerOrder(undefined));
  });

  it('tries only the providers lk.metadata names, in its order', () => {
    expect(providerOrder('aws')).toEqual({ ok: true, order: [{ kind: 'aws' }] });
    expect(providerOrder('gcp,nocloud,file:/var/lib/user-data')).toEqual({
      ok: true,
      order: [{ kind: 'gcp' }, { kind: 'nocloud' }, { kind: 'file', path: '/var/lib/user-data' }],
    });
  });

  it('refuses unknown providers and bad arguments, naming them', () => {
    expect(providerOrder('aws,azure')).toEqual({
      ok: false,
      error: expect.stringMatching(/"azure".*known providers are nocloud, aws, gcp, file/),
    });
    expect(providerOrder('aws:x')).toEqual({ ok: false, error: expect.stringMatching(/only file takes an argument/) });
    expect(providerOrder('file:/usr/x')).toEqual({ ok: false, error: expect.stringMatching(/must be under \/etc\/, \/run\/, \/var\//) });
    expect(providerOrder('file:/var/../usr/x')).toEqual({ ok: false, error: expect.stringMatching(/must be under/) });
  });
});

describe('HTTP to the metadata server', () => {
  it('writes an HTTP/1.0 request with the headers, and a zero length for PUT', () => {
    expect(httpRequest('PUT', '169.254.169.254', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' })).toBe(
      'PUT /latest/api/token HTTP/1.0\r\nHost: 169.254.169.254\r\nConnection: close\r\nX-aws-ec2-metadata-token-ttl-seconds: 300\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('parses status, headers (case-insensitive) and body', () => {
    const r = parseHttpResponse('HTTP/1.1 200 OK\r\nMetadata-Flavor: Google\r\nContent-Length: 5\r\n\r\nnode1');
    expect(r.status).toBe(200);
    expect(r.headers.get('metadata-flavor')).toBe('Google');
    expect(r.body).toBe('node1');
    expect(parseHttpResponse('HTTP/1.0 404 Not Found\r\n\r\n').status).toBe(404);
  });

  it('refuses what is not a whole HTTP response', () => {
    expect(() => parseHttpResponse('SSH-2.0-OpenSSH\r\n')).toThrow(/not an HTTP response/);
    expect(() => parseHttpResponse('HTTP/1.1 200 OK\r\nContent-')).toThrow(/ended inside its headers/);
    expect(() => parseHttpResponse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello')).toThrow(/chunked/);
  });

  it("takes the keys out of GCP's user:key lines", () => {
    expect(gcpSshKeys('alice:ssh-ed25519 AAA alice\n\nbob:ecdsa-sha2-nistp256 BBB bob\nssh-rsa CCC plain\n')).toEqual([
      'ssh-ed25519 AAA alice',
      'ecdsa-sha2-nistp256 BBB bob',
      'ssh-rsa CCC plain',
    ]);
  });
});

describe('volumeLabel reads labels that real tools wrote', () => {
  const bytes = async (file: string, offset: number, length: number) => {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return new Uint8Array(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  };
  const labelOf = async (file: string) => volumeLabel(await bytes(file, 0, 512), await bytes(file, 32768, 2048));
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lk-labels-'));
    await writeFile(join(dir, 'user-data'), '#cloud-config\n');
  });

  it('an ISO 9660 volume from xorriso', async () => {
    const iso = join(dir, 'cidata.iso');
    await execa('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'cidata', '-o', iso, join(dir, 'user-data')]);
    expect(await labelOf(iso)).toEqual({ fs: 'iso9660', label: 'cidata' });
  });

  it('FAT16 and FAT32 volumes from mkfs.vfat', async () => {
    for (const [bits, mib] of [
      ['16', 16],
      ['32', 64],
    ] as const) {
      const img = join(dir, `fat${bits}.img`);
      await execa('truncate', ['-s', `${mib}M`, img]);
      await execa('mkfs.vfat', ['-F', bits, '-n', 'CIDATA', img]);
      expect(await labelOf(img)).toEqual({ fs: 'vfat', label: 'CIDATA' });
    }
  });

  it('nothing for an ext4 file system or zeros', async () => {
    const img = join(dir, 'ext4.img');
    await execa('truncate', ['-s', '8M', img]);
    await execa('mkfs.ext4', ['-q', '-L', 'cidata', img]);
    expect(await labelOf(img)).toBeNull();
    expect(volumeLabel(new Uint8Array(512), new Uint8Array(2048))).toBeNull();
    expect(volumeLabel(new Uint8Array(0), new Uint8Array(0))).toBeNull();
  });
});
