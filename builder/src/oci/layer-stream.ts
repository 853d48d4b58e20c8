import type { Readable } from 'node:stream';
import { decompress, type Compression } from '../archive/decompress.js';
import { LkError } from '../errors.js';
import type { OciLayout } from './layout.js';
import type { Descriptor } from './media-types.js';

/** How a layer's media type says its blob is compressed (OCI and Docker names). */
export function layerCompression(mediaType: string): Compression {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gz';
  if (mediaType.endsWith('+zstd')) return 'zst';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.tar.v1')) return 'none';
  throw new LkError('layer', `unsupported layer media type ${mediaType}`);
}

/** A cached layer's tar stream, decompressed as its media type says. */
export function openLayer(layout: OciLayout, layer: Descriptor): Readable {
  const compression = layerCompression(layer.mediaType);
  return decompress(layout.readBlobStream(layer.digest), compression, `layer ${layer.digest}`);
}
