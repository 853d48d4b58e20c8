// The dm-verity hash tree against Debian's veritysetup (cryptsetup-bin): it accepts our tree,
// refuses it after one flipped byte, and computes the same root hash and hash blocks itself.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { VerityHasher, verityCmdline, veritySalt, type VerityTree } from '../../src/trust/verity.js';

const BLOCK = 4096;
let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-verity-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Hashes `data` in uneven chunks (so block boundaries fall inside them) and writes data + tree to one file. */
async function device(name: string, data: Buffer, salt: Buffer): Promise<{ path: string; tree: VerityTree }> {
  const h = new VerityHasher(salt);
  for (let at = 0; at < data.length; at += 1000) h.update(data.subarray(at, at + 1000));
  const tree = h.finish();
  const path = join(work, name);
  await writeFile(path, Buffer.concat([data, ...tree.hashBlocks]));
  return { path, tree };
}

function verityArgs(blocks: number, salt: Buffer): string[] {
  return [
    '--no-superblock',
    '--format=1',
    '--hash=sha256',
    '--data-block-size=4096',
    '--hash-block-size=4096',
    '--salt',
    salt.toString('hex'),
    '--data-blocks',
    String(blocks),
  ];
}

async function verify(path: string, blocks: number, rootHash: string, salt: Buffer) {
  return execa('veritysetup', ['verify', path, path, rootHash, `--hash-offset=${blocks * BLOCK}`, ...verityArgs(blocks, salt)], {
    reject: false,
    all: true,
  });
}

// 1 block: no hash level at all; 128: one full hash block; 129: two levels; 20000: three levels.
describe.each([1, 2, 128, 129, 300, 20000])('%i data blocks', (blocks) => {
  const data = randomBytes(blocks * BLOCK);
  const salt = veritySalt(randomBytes(32));
  let ours: { path: string; tree: VerityTree };
  beforeAll(async () => {
    ours = await device(`d${blocks}.img`, data, salt);
  });

  test('veritysetup verify accepts our tree', async () => {
    const r = await verify(ours.path, blocks, ours.tree.rootHash.toString('hex'), salt);
    expect(r.exitCode, r.all).toBe(0);
    expect(ours.tree.dataBlocks).toBe(blocks);
  });

  test('veritysetup format computes the same root hash and the same hash blocks', async () => {
    const dataPath = join(work, `plain${blocks}.img`);
    const hashPath = join(work, `hash${blocks}.img`);
    await writeFile(dataPath, data);
    const r = await execa('veritysetup', ['format', dataPath, hashPath, ...verityArgs(blocks, salt)], { all: true });
    const theirs = /^Root hash:\s+([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
    expect(theirs, r.all).toBe(ours.tree.rootHash.toString('hex'));
    expect((await readFile(hashPath)).equals(Buffer.concat(ours.tree.hashBlocks))).toBe(true);
  });

  test('one flipped data byte is refused', async () => {
    const bad = Buffer.from(data);
    bad[bad.length - 1234] ^= 0x01;
    const path = join(work, `bad${blocks}.img`);
    await writeFile(path, Buffer.concat([bad, ...ours.tree.hashBlocks]));
    const r = await verify(path, blocks, ours.tree.rootHash.toString('hex'), salt);
    expect(r.exitCode, r.all).not.toBe(0);
    expect(r.all).toMatch(/verification.*failed|failed.*verification|corrupted/i);
  });
});

test('one flipped byte in the hash tree is refused', async () => {
  const blocks = 200;
  const salt = veritySalt(Buffer.alloc(32));
  const { path, tree } = await device('tree.img', randomBytes(blocks * BLOCK), salt);
  const bytes = await readFile(path);
  bytes[blocks * BLOCK + BLOCK + 7] ^= 0x80; // inside level 0 (the top level's one block comes first)
  await writeFile(path, bytes);
  const r = await verify(path, blocks, tree.rootHash.toString('hex'), salt);
  expect(r.exitCode, r.all).not.toBe(0);
});

test('the salt follows the content; the command-line word is N,N,root,salt', () => {
  const a = veritySalt(Buffer.alloc(32, 1));
  expect(a).toHaveLength(32);
  expect(veritySalt(Buffer.alloc(32, 1))).toEqual(a);
  expect(veritySalt(Buffer.alloc(32, 2))).not.toEqual(a);
  const tree: VerityTree = { dataBlocks: 422, hashBlocks: [], rootHash: Buffer.alloc(32, 0xab), salt: Buffer.alloc(32, 0x01) };
  expect(verityCmdline(tree)).toBe(`lk.verity=422,422,${'ab'.repeat(32)},${'01'.repeat(32)}`);
});

test('data that stops inside a block is an internal error, not a short tree', () => {
  const h = new VerityHasher(Buffer.alloc(32));
  h.update(Buffer.alloc(BLOCK + 1));
  expect(() => h.finish()).toThrow(/1 bytes into a block/);
});
