import type { FsTree } from '../fs/tree.js';
import { applyLayer, decompressLayer } from '../fs/apply-layer.js';
import type { Spool } from '../fs/spool.js';
import type { StoredImage } from '../oci/image-store.js';
import type { OciLayout } from '../oci/layout.js';

/** Applies every layer of an image, in order, onto `tree` below `prefix`. */
export async function addImage(tree: FsTree, layout: OciLayout, image: StoredImage, prefix: string, spool: Spool): Promise<void> {
  for (const layer of image.manifest.layers) {
    await applyLayer(tree, decompressLayer(layout.readBlobStream(layer.digest), layer.mediaType), prefix, spool, { image: image.refName });
  }
}
