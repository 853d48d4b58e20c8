import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeError } from '../errors.js';
import { readLayerOps, type LayerOp } from '../fs/apply-layer.js';
import { Spool } from '../fs/spool.js';
import { tempPathIn } from '../util/atomic-file.js';
import { decodeLayerIndex, encodeLayerIndex, TRAILER_BYTES } from './unpacked-format.js';
import { digestHex } from './digest.js';
import { openLayer } from './layer-stream.js';
import type { OciLayout } from './layout.js';
import type { Descriptor } from './media-types.js';

const CACHE_FULL_HINT = 'free space there, or point LKBUILD_CACHE at a larger disk';

/** A layer read once: what it does to a tree, and the spool its files' data are in. */
export interface UnpackedLayer {
  ops: readonly LayerOp[];
  spool: Spool;
}

/**
 * Layers as a build applies them, without gunzip or tar parsing after the first time: the first
 * build that unpacks a layer keeps its files' data and operations in the cache
 * (unpacked/sha256/<blob digest>, see unpacked-format.ts), and later builds read them from
 * there. The blob's digest names the file because it was verified when the blob was stored;
 * the image config's diff_ids are the image's own claims and could name another image's layer.
 * A file that does not read back whole is unpacked again; a cache that cannot be written to
 * leaves the data in the build's scratch spool.
 */
export class UnpackedLayers {
  private readonly layers = new Map<string, Promise<UnpackedLayer>>();
  private readonly dir: string;

  constructor(
    readonly layout: OciLayout,
    private readonly scratch: Spool,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`lkbuild: warning: ${m}\n`),
  ) {
    this.dir = layout.unpackedDir();
  }

  /** The layer's operations and data: from this build, from the cache, or read from its blob now. */
  get(layer: Descriptor): Promise<UnpackedLayer> {
    let found = this.layers.get(layer.digest);
    if (!found) {
      found = this.load(layer);
      this.layers.set(layer.digest, found);
      // A failed layer is not remembered: the error reaches the caller, and nothing else asks again.
      found.catch(() => this.layers.delete(layer.digest));
    }
    return found;
  }

  private async load(layer: Descriptor): Promise<UnpackedLayer> {
    const path = join(this.dir, digestHex(layer.digest));
    return (await this.read(path, layer)) ?? (await this.unpack(path, layer));
  }

  /** The cached file, or undefined if there is none or it does not read back whole. */
  private async read(path: string, layer: Descriptor): Promise<UnpackedLayer | undefined> {
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) return undefined;
    const spool = await Spool.openFile(path, size).catch(() => undefined);
    if (!spool) return undefined;
    try {
      const tail = size >= TRAILER_BYTES ? await spool.readBytes(size - TRAILER_BYTES, TRAILER_BYTES) : Buffer.alloc(0);
      const ops = decodeLayerIndex(tail, size, (at, length) => spool.readBytes(at, length));
      return { ops: await ops, spool };
    } catch (e) {
      await spool.dispose();
      this.warn(`the cache's unpacked copy of layer ${layer.digest} is damaged (${(e as Error).message}): unpacking it again`);
      await unlink(path).catch(() => undefined);
      return undefined;
    }
  }

  private async unpack(path: string, layer: Descriptor): Promise<UnpackedLayer> {
    const spool = await this.newSpool();
    if (!spool) return { ops: await readLayerOps(openLayer(this.layout, layer), this.scratch), spool: this.scratch };
    try {
      const ops = await readLayerOps(openLayer(this.layout, layer), spool);
      for (const part of encodeLayerIndex(ops, spool.size)) await spool.append(part);
      await spool.flush();
      // Two builds may unpack one layer at once: both files hold the same bytes, the last rename wins.
      await rename(spool.path, path);
      return { ops, spool };
    } catch (e) {
      await spool.dispose();
      await unlink(spool.path).catch(() => undefined);
      throw e;
    }
  }

  /** A spool file in the cache, or undefined where the cache cannot be written to (read-only, not ours). */
  private async newSpool(): Promise<Spool | undefined> {
    try {
      await mkdir(this.dir, { recursive: true });
      return await Spool.createFile(tempPathIn(this.dir), CACHE_FULL_HINT);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return undefined;
      throw writeError(e, 'an unpacked layer to the cache in', this.dir, CACHE_FULL_HINT);
    }
  }

  /** Closes every cached layer's file (the scratch spool is its owner's to dispose). */
  async dispose(): Promise<void> {
    const layers = await Promise.allSettled(this.layers.values());
    for (const l of layers) if (l.status === 'fulfilled' && l.value.spool !== this.scratch) await l.value.spool.dispose();
    this.layers.clear();
  }
}
