import { createHash } from 'node:crypto';

/**
 * The dm-verity hash tree (the kernel's Documentation/admin-guide/device-mapper/verity.rst,
 * veritysetup's on-disk format without its superblock): format version 1, sha256, 4096-byte
 * data and hash blocks. Every block's digest is sha256(salt || block). Level 0 holds the digests
 * of the data blocks, 128 to a hash block (the rest of a block is zeros); each level above
 * holds the digests of the hash blocks below it, up to a level of one block, whose digest is the
 * root hash. On the device the levels follow the data top level first, as the kernel looks
 * them up. Pure: blocks in, tree out; the caller streams the data through `update`.
 */

export const VERITY_BLOCK = 4096;
const DIGEST = 32;
const PER_BLOCK = VERITY_BLOCK / DIGEST;

export interface VerityTree {
  /** Data blocks hashed: the device's first N blocks. */
  dataBlocks: number;
  /** The hash blocks in device order (top level first), to place right after the data. */
  hashBlocks: Buffer[];
  rootHash: Buffer;
  salt: Buffer;
}

/** What the init needs to open the device: `lk.verity=<N>,<hash-start-block>,<root-hash>,<salt>`. */
export function verityCmdline(t: VerityTree): string {
  return `lk.verity=${t.dataBlocks},${t.dataBlocks},${t.rootHash.toString('hex')},${t.salt.toString('hex')}`;
}

/** A salt that follows from the content (so builds reproduce) and differs between contents: 32 bytes. */
export function veritySalt(contentSha256: Buffer): Buffer {
  return createHash('sha256').update('lkbuild dm-verity salt\0').update(contentSha256).digest();
}

function digest(salt: Buffer, block: Buffer): Buffer {
  return createHash('sha256').update(salt).update(block).digest();
}

/** Packs digests into zero-padded hash blocks, 128 to a block. */
function packLevel(digests: Buffer[]): Buffer[] {
  const blocks: Buffer[] = [];
  for (let i = 0; i < digests.length; i += PER_BLOCK) {
    const b = Buffer.alloc(VERITY_BLOCK);
    digests.slice(i, i + PER_BLOCK).forEach((d, j) => d.copy(b, j * DIGEST));
    blocks.push(b);
  }
  return blocks;
}

/**
 * Hashes data fed in chunks of any size, whose total must be a whole number of blocks. Holds
 * only the level-0 hash blocks (1/128 of the data) and at most one partial data block.
 */
export class VerityHasher {
  private readonly level0: Buffer[] = [];
  private dataBlocks = 0;
  private first?: Buffer;
  private partial = Buffer.alloc(0);

  constructor(private readonly salt: Buffer) {
    if (salt.length > 256) throw new Error('internal: dm-verity salts are at most 256 bytes');
  }

  update(chunk: Buffer): void {
    const data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let at = 0;
    for (; at + VERITY_BLOCK <= data.length; at += VERITY_BLOCK) this.add(digest(this.salt, data.subarray(at, at + VERITY_BLOCK)));
    this.partial = Buffer.from(data.subarray(at));
  }

  private add(d: Buffer): void {
    const slot = this.dataBlocks++ % PER_BLOCK;
    if (slot === 0) this.level0.push(Buffer.alloc(VERITY_BLOCK));
    d.copy(this.level0[this.level0.length - 1]!, slot * DIGEST);
    this.first ??= d;
  }

  finish(): VerityTree {
    if (this.partial.length) throw new Error(`internal: dm-verity data ends ${this.partial.length} bytes into a block`);
    if (!this.first) throw new Error('internal: dm-verity of no data');
    // One data block needs no hash level at all: its digest is the root hash (the kernel
    // counts levels the same way). Otherwise levels go up until one has a single block.
    if (this.dataBlocks === 1) return { dataBlocks: 1, hashBlocks: [], rootHash: this.first, salt: this.salt };
    const levels: Buffer[][] = [this.level0];
    while (levels[levels.length - 1]!.length > 1) levels.push(packLevel(levels[levels.length - 1]!.map((b) => digest(this.salt, b))));
    const top = levels[levels.length - 1]![0]!;
    return { dataBlocks: this.dataBlocks, hashBlocks: levels.reverse().flat(), rootHash: digest(this.salt, top), salt: this.salt };
  }
}
