import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
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
  const tarStream = decompress(layout.readBlobStream(layer.digest), compression, `layer ${layer.digest}`);
  const checked = refuseCompressedTar(compression);
  pipeline(tarStream, checked, () => {}); // errors surface on `checked`, which the caller reads
  return checked;
}

const compressedMagic: Array<[string, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
];

/**
 * Passes a tar stream on, unless it starts as compressed data does: a layer compressed twice
 * would otherwise reach the tar parser and fail with a message about tar headers.
 */
function refuseCompressedTar(compression: Compression): Transform {
  let checked = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (!checked) {
        checked = true;
        const found = compressedMagic.find(([, magic]) => chunk.subarray(0, magic.length).equals(magic));
        if (found) {
          const outer = compression === 'none' ? 'the layer' : `its ${compression === 'gz' ? 'gzip' : 'zstd'} data`;
          done(
            new LkError(
              'layer',
              `not a tar archive: ${outer} holds a ${found[0]} stream`,
              'the layer was compressed twice; build it from an uncompressed tar',
            ),
          );
          return;
        }
      }
      done(null, chunk);
    },
  });
}
