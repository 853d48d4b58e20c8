import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LkError, writeError } from '../errors.js';
import { BlobHasher, digestHex, sha256Digest } from './digest.js';
import { withFileLock } from './file-lock.js';
import { Annotation, MediaType, type Descriptor, type ImageIndex } from './media-types.js';
import { writeFileAtomic, writeThenRename } from '../util/atomic-file.js';
import { writeChunksToFile } from '../util/chunk-file.js';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LKBUILD_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lkbuild');
}

/** What a blob is written from: its bytes, or a stream of them (a Readable, a generator). */
export type BlobSource = Buffer | AsyncIterable<Buffer>;

export interface BlobRef {
  digest: string;
  size: number;
}

/**
 * The local cache: an OCI image layout (readable by skopeo and umoci) whose references are
 * `org.opencontainers.image.ref.name` annotations in index.json. Every blob is verified against
 * its digest as it is written and lands by rename, so readers never see a partial blob.
 */
export class OciLayout {
  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await writeIfMissing(join(this.root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeIfMissing(join(this.root, 'index.json'), JSON.stringify(emptyIndex()));
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  /** Where a build keeps layers it has unpacked, one file per layer named like its blob (oci/unpacked-layers.ts). */
  unpackedDir(): string {
    return join(this.root, 'unpacked', 'sha256');
  }

  async hasBlob(ref: BlobRef): Promise<boolean> {
    const st = await stat(this.blobPath(ref.digest)).catch(() => undefined);
    return st !== undefined && st.size === ref.size;
  }

  /**
   * Streams `source` into the layout, hashing as it goes; if `expected` is given, a mismatch (or
   * a single byte more than its size) is an error and nothing is kept.
   */
  async writeBlob(source: BlobSource, expected?: BlobRef): Promise<BlobRef> {
    if (expected && (await this.hasBlob(expected))) {
      if (source instanceof Readable) source.destroy();
      return expected;
    }
    const hasher = new BlobHasher(expected?.size);
    try {
      let actual: BlobRef | undefined;
      await writeThenRename(join(this.root, 'blobs', 'sha256'), async (temp) => {
        await writeChunksToFile(temp, Buffer.isBuffer(source) ? [source] : source, (chunk) => hasher.update(chunk));
        actual = { digest: hasher.digest(), size: hasher.bytes };
        if (expected && (actual.digest !== expected.digest || actual.size !== expected.size)) {
          throw new LkError(
            'cache',
            `blob verification failed: expected ${expected.digest} (${expected.size} bytes), got ${actual.digest} (${actual.size} bytes)`,
            'the source sent different content than it announced; nothing was stored',
          );
        }
        return this.blobPath(actual.digest);
      });
      return actual!;
    } catch (e) {
      // A stream that failed before it was read (the temp file could not be made) is not left open.
      if (source instanceof Readable) source.destroy();
      throw writeError(e, 'to the cache', this.root, 'free space there, or point LKBUILD_CACHE at a larger disk');
    }
  }

  async writeJsonBlob(value: unknown): Promise<BlobRef> {
    const data = Buffer.from(JSON.stringify(value));
    const ref = { digest: sha256Digest(data), size: data.length };
    return this.writeBlob(data, ref);
  }

  readBlobStream(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  /** Reads a small blob, verifying its digest: a corrupt cache entry is an error, never silently used. */
  async readJsonBlob<T>(digest: string): Promise<T> {
    const data = await readFile(this.blobPath(digest)).catch((e: NodeJS.ErrnoException) => {
      throw new LkError('cache', `blob ${digest} is missing from the cache at ${this.root}`, 'pull or build the image again', { cause: e });
    });
    if (sha256Digest(data) !== digest) {
      await unlink(this.blobPath(digest)).catch(() => undefined);
      throw new LkError('cache', `blob ${digest} in ${this.root} is corrupt and was removed`, 'pull or build the image again');
    }
    return JSON.parse(data.toString('utf8')) as T;
  }

  async readIndex(): Promise<ImageIndex> {
    const text = await readFile(join(this.root, 'index.json'), 'utf8').catch(() => undefined);
    return text === undefined ? emptyIndex() : (JSON.parse(text) as ImageIndex);
  }

  async resolve(refName: string): Promise<Descriptor | undefined> {
    const index = await this.readIndex();
    return index.manifests.find((m) => m.annotations?.[Annotation.refName] === refName);
  }

  /** Points `refName` at `manifest`, replacing an older entry of the same name. */
  async tag(refName: string, manifest: Descriptor): Promise<void> {
    await this.updateIndex((index) => {
      const others = index.manifests.filter((m) => m.annotations?.[Annotation.refName] !== refName);
      const entry = { ...manifest, annotations: { ...manifest.annotations, [Annotation.refName]: refName } };
      return { ...index, manifests: [...others, entry].sort(byRefName) };
    });
  }

  async untag(refName: string): Promise<boolean> {
    let found = false;
    await this.updateIndex((index) => {
      const kept = index.manifests.filter((m) => m.annotations?.[Annotation.refName] !== refName);
      found = kept.length !== index.manifests.length;
      return { ...index, manifests: kept };
    });
    return found;
  }

  private async updateIndex(change: (index: ImageIndex) => ImageIndex): Promise<void> {
    await this.init();
    await withFileLock(join(this.root, 'index.json.lock'), async () => {
      const next = change(await this.readIndex());
      await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(next, null, 2) + '\n').catch((e: unknown) => {
        throw writeError(e, 'the cache index in', this.root, 'free space there, or point LKBUILD_CACHE at a larger disk');
      });
    });
  }
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] };
}

function byRefName(a: Descriptor, b: Descriptor): number {
  const x = a.annotations?.[Annotation.refName] ?? '';
  const y = b.annotations?.[Annotation.refName] ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

async function writeIfMissing(path: string, content: string): Promise<void> {
  try {
    await writeFile(path, content, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
