import type { FsTree } from '../fs/tree.js';
import { applyLayerOps } from '../fs/apply-layer.js';
import { LkError } from '../errors.js';
import type { StoredImage } from '../oci/image-store.js';
import type { UnpackedLayers } from '../oci/unpacked-layers.js';
import type { Descriptor } from '../oci/media-types.js';
import { timed, type StageClock } from '../util/stage-clock.js';

/** Applies every layer of an image, in order, onto `tree` below `prefix` (the build's "unpack" stage). */
export async function addImage(
  tree: FsTree,
  layers: UnpackedLayers,
  image: StoredImage,
  prefix: string,
  clock?: StageClock,
): Promise<void> {
  await timed(clock, 'unpack', () => applyLayers(tree, layers, image, prefix), image.refName);
}

async function applyLayers(tree: FsTree, layers: UnpackedLayers, image: StoredImage, prefix: string): Promise<void> {
  for (const layer of image.manifest.layers) {
    try {
      const { ops, spool } = await layers.get(layer);
      applyLayerOps(tree, ops, prefix, spool, { image: image.refName });
    } catch (e) {
      throw layerError(e, image, layer);
    }
  }
}

/**
 * Names the image and the layer in whatever went wrong while unpacking it (a full disk too:
 * it says which image was being unpacked). Node's own errors of the build host pass unchanged;
 * anything else from the decompressor or the tar parser means the layer is not what its media
 * type says.
 */
function layerError(e: unknown, image: StoredImage, layer: Descriptor): unknown {
  const where = `image ${image.refName}, layer ${layer.digest}`;
  if (e instanceof LkError) return new LkError(e.kind, `${where}: ${e.message}`, e.hint, { cause: e });
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && /^E[A-Z]+$/.test(code)) return e;
  return new LkError(
    'layer',
    `${where}: not a valid ${layer.mediaType}: ${(e as Error)?.message ?? String(e)}`,
    'the image is damaged or its layer is not what its media type says; rebuild or re-push the image',
    { cause: e },
  );
}
