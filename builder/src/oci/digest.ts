import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { LkError } from '../errors.js';

const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return digestPattern.test(s);
}

export function assertDigest(s: string): void {
  if (!isDigest(s)) throw new LkError('oci', `invalid digest "${s}"`, 'a digest is sha256: followed by 64 lowercase hex digits');
}

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Hex part of a sha256 digest: the file name of a blob in an OCI layout. */
export function digestHex(digest: string): string {
  assertDigest(digest);
  return digest.slice('sha256:'.length);
}

/**
 * SHA-256 and byte count of content that arrives in pieces; with `maxBytes`, `update` throws as
 * soon as more than that has arrived (so an oversized source never fills the disk).
 */
export class BlobHasher {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes = Infinity) {}

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      throw new LkError(
        'cache',
        `more than the ${this.maxBytes} bytes announced arrived`,
        'the source sent different content than it announced; nothing was stored',
      );
    }
    this.hash.update(chunk);
  }

  /** Only valid once everything has arrived. */
  digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/** A pass-through stream that hashes and counts what flows through it (see BlobHasher). */
export class DigestingStream extends Transform {
  private readonly hasher: BlobHasher;

  constructor(maxBytes = Infinity) {
    super();
    this.hasher = new BlobHasher(maxBytes);
  }

  get bytes(): number {
    return this.hasher.bytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.hasher.update(chunk);
    } catch (e) {
      done(e as Error);
      return;
    }
    done(null, chunk);
  }

  /** Only valid after the stream has ended. */
  digest(): string {
    return this.hasher.digest();
  }
}
