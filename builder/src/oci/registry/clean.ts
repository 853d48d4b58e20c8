import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../file-lock.js';
import type { OciLayout } from '../layout.js';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../media-types.js';
import { isProcessAlive } from '../../util/process.js';

export interface CleanResult {
  /** Blobs removed. */
  removed: number;
  /** Unpacked copies of layers removed. */
  unpackedRemoved: number;
  freedBytes: number;
  kept: number;
}

/** Every descriptor reachable from `roots` (themselves included), following indexes and manifests, by digest. */
export async function reachableDescriptors(layout: OciLayout, roots: Descriptor[]): Promise<Map<string, Descriptor>> {
  const seen = new Map<string, Descriptor>();
  const visit = async (desc: Descriptor): Promise<void> => {
    if (seen.has(desc.digest)) return;
    seen.set(desc.digest, desc);
    const isIndex = desc.mediaType === MediaType.imageIndex || desc.mediaType === MediaType.dockerManifestList;
    const isManifest = desc.mediaType === MediaType.imageManifest || desc.mediaType === MediaType.dockerManifest;
    if (!isIndex && !isManifest) return;
    const text = await readFile(layout.blobPath(desc.digest), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const parsed = JSON.parse(text) as Partial<ImageIndex & ImageManifest>;
    for (const child of [...(parsed.manifests ?? []), ...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])])
      await visit(child);
  };
  for (const root of roots) await visit(root);
  return seen;
}

/**
 * Removes blobs no reference in index.json reaches, and the unpacked copies of layers no longer
 * there, holding the index lock so no tag can land meanwhile. Files younger than `minAgeMs` are
 * kept: a pull or build running right now writes its blobs before it tags them. Temp files of
 * processes that died are removed too.
 */
export async function cleanCache(layout: OciLayout, opts: { minAgeMs?: number; now?: number } = {}): Promise<CleanResult> {
  await layout.init();
  const minAge = opts.minAgeMs ?? 0;
  const now = opts.now ?? Date.now();
  return withFileLock(join(layout.root, 'index.json.lock'), async () => {
    const keep = await reachableDescriptors(layout, (await layout.readIndex()).manifests);
    const result: CleanResult = { removed: 0, unpackedRemoved: 0, freedBytes: 0, kept: 0 };
    for (const [dir, removed] of [
      [join(layout.root, 'blobs', 'sha256'), 'removed'],
      [layout.unpackedDir(), 'unpackedRemoved'],
    ] as const) {
      for (const name of await readdir(dir).catch(() => [])) {
        const path = join(dir, name);
        if (name.startsWith('.tmp-')) {
          const pid = Number(name.split('-')[1]);
          if (isProcessAlive(pid)) continue;
        } else if (keep.has(`sha256:${name}`)) {
          result.kept++;
          continue;
        }
        const st = await stat(path).catch(() => undefined);
        if (!st || now - st.mtimeMs < minAge) continue;
        await unlink(path).catch(() => undefined);
        result[removed]++;
        result.freedBytes += st.size;
      }
    }
    return result;
  });
}
