import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCmdline } from '../src/cmdline.js';
import { gptPartitionNumber, guidText, parseGptHeader, parseRootDevice, parseVerity, rootRequest, verityTarget } from '../src/rootspec.js';

const HASH = 'a'.repeat(64);
const SALT = '0f'.repeat(32);

describe('parseRootDevice', () => {
  it('takes a /dev path or a PARTUUID (lower-cased)', () => {
    expect(parseRootDevice('/dev/vda')).toEqual({ kind: 'path', path: '/dev/vda' });
    expect(parseRootDevice('/dev/disk/by-id/x')).toEqual({ kind: 'path', path: '/dev/disk/by-id/x' });
    expect(parseRootDevice('PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4')).toEqual({
      kind: 'partuuid',
      uuid: '0fc63daf-8483-4772-8e79-3d69d8477de4',
    });
  });

  it.each(['vda', '/dev/../etc/passwd', '/dev/', 'PARTUUID=1234', 'UUID=0fc63daf-8483-4772-8e79-3d69d8477de4', ''])('refuses %j', (v) => {
    expect(() => parseRootDevice(v)).toThrow(`lk.root=${v}:`);
  });
});

describe('parseVerity', () => {
  it('reads blocks, hash start, root hash and salt', () => {
    expect(parseVerity(`2048,2048,${HASH.toUpperCase()},${SALT}`)).toEqual({
      dataBlocks: 2048,
      hashStartBlock: 2048,
      rootHash: HASH,
      salt: SALT,
    });
    expect(parseVerity(`1,5,${HASH},-`).salt).toBe('-');
  });

  it.each([
    ['2048,2048,' + HASH, 'expected <data blocks>'],
    [`x,2048,${HASH},${SALT}`, 'the data block count "x" is not a block count'],
    [`2048,-1,${HASH},${SALT}`, 'the hash start block "-1"'],
    [`0,0,${HASH},${SALT}`, 'no data blocks'],
    [`2048,2047,${HASH},${SALT}`, 'starts inside the data'],
    [`2048,2048,${HASH.slice(1)},${SALT}`, 'not 64 hex digits'],
    [`2048,2048,${HASH},abc`, 'the salt is not hex bytes'],
    [`2048,2048,${HASH},zz`, 'the salt is not hex bytes'],
  ])('refuses %j', (v, why) => {
    expect(() => parseVerity(v)).toThrow(why);
  });
});

describe('rootRequest', () => {
  it('is null without lk.root= (the initramfs stays the root)', () => {
    expect(rootRequest(parseCmdline('console=ttyS0 lk.debug'))).toBeNull();
  });

  it('pairs the device with the verity parameters', () => {
    const r = rootRequest(parseCmdline(`console=ttyS0 lk.root=/dev/vda lk.verity=8,8,${HASH},${SALT}`));
    expect(r).toEqual({
      device: { kind: 'path', path: '/dev/vda' },
      verity: { dataBlocks: 8, hashStartBlock: 8, rootHash: HASH, salt: SALT },
    });
    expect(rootRequest(parseCmdline('lk.root=/dev/vdb'))).toEqual({ device: { kind: 'path', path: '/dev/vdb' }, verity: null });
  });

  it('refuses lk.verity= without a root to verify', () => {
    expect(() => rootRequest(parseCmdline(`lk.verity=8,8,${HASH},${SALT}`))).toThrow('lk.verity= without lk.root=');
  });
});

describe('verityTarget', () => {
  it('is the verity table veritysetup would load: version 1, 4 KiB blocks, sha256, hash after the data', () => {
    const t = verityTarget('/dev/vda2', { dataBlocks: 10, hashStartBlock: 10, rootHash: HASH, salt: SALT });
    expect(t).toEqual({ sectors: 80, params: `1 /dev/vda2 /dev/vda2 4096 4096 10 10 sha256 ${HASH} ${SALT}` });
  });
});

/** A GPT as sgdisk writes it: header at LBA 1, 128-byte entries from LBA 2 (values from the UEFI spec's layout). */
function gpt(partitions: { type: number[]; unique: number[] }[]): { header: Uint8Array; entries: Uint8Array } {
  const header = new Uint8Array(92);
  header.set(
    [...'EFI PART'].map((c) => c.charCodeAt(0)),
    0,
  );
  const v = new DataView(header.buffer);
  v.setUint32(72, 2, true);
  v.setUint32(80, 128, true);
  v.setUint32(84, 128, true);
  const entries = new Uint8Array(128 * 128);
  partitions.forEach((p, i) => {
    entries.set(p.type, i * 128);
    entries.set(p.unique, i * 128 + 16);
  });
  return { header, entries };
}

// 0FC63DAF-8483-4772-8E79-3D69D8477DE4 (Linux filesystem data) as stored on disk: mixed-endian.
const LINUX_FS = [0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4];

describe('GPT lookup', () => {
  it('prints a stored GUID in its text form', () => {
    expect(guidText(new Uint8Array(LINUX_FS), 0)).toBe('0fc63daf-8483-4772-8e79-3d69d8477de4');
  });

  it('finds the partition number by unique GUID, skipping empty entries', () => {
    const unique = [0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 1, 2, 3, 4, 5, 6, 7, 8];
    const { header, entries } = gpt([
      { type: LINUX_FS, unique: new Array(16).fill(0x11) },
      { type: new Array(16).fill(0), unique },
      { type: LINUX_FS, unique },
    ]);
    const h = parseGptHeader(header)!;
    expect(h).toEqual({ entriesLba: 2, entryCount: 128, entrySize: 128 });
    expect(gptPartitionNumber(entries, h, '12345678-9abc-def0-0102-030405060708')).toBe(3);
    expect(gptPartitionNumber(entries, h, '12345678-9abc-def0-0102-030405060709')).toBeNull();
  });

  it('is no GPT without the signature or with a nonsense entry size', () => {
    const { header } = gpt([]);
    expect(parseGptHeader(header.subarray(0, 50))).toBeNull();
    const bad = header.slice();
    bad[0] = 0x46;
    expect(parseGptHeader(bad)).toBeNull();
    const odd = header.slice();
    new DataView(odd.buffer).setUint32(84, 12, true);
    expect(parseGptHeader(odd)).toBeNull();
  });
});

describe('GPT lookup on a table sgdisk wrote', () => {
  it('finds each partition by the unique GUID given to sgdisk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-gpt-'));
    try {
      const disk = join(dir, 'disk.raw');
      execFileSync('truncate', ['-s', '8M', disk]);
      const guids = ['6a1f3b2c-0d4e-4f5a-8b9c-0123456789ab', 'C0FFEE00-1111-2222-3333-444455556666'];
      execFileSync('sgdisk', ['-n', '1:2048:+1M', '-u', `1:${guids[0]}`, '-n', '2:0:+1M', '-u', `2:${guids[1]}`, disk], {
        stdio: 'ignore',
      });
      const bytes = new Uint8Array(readFileSync(disk));
      const header = parseGptHeader(bytes.subarray(512, 512 + 92))!;
      expect(header.entriesLba).toBe(2);
      const entries = bytes.subarray(header.entriesLba * 512, header.entriesLba * 512 + header.entryCount * header.entrySize);
      expect(gptPartitionNumber(entries, header, guids[0]!)).toBe(1);
      expect(gptPartitionNumber(entries, header, guids[1]!.toLowerCase())).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
