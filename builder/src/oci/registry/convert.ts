import { LkError } from '../../errors.js';
import { MediaType, type Descriptor, type ImageManifest } from '../media-types.js';

const dockerConfig = 'application/vnd.docker.container.image.v1+json';
const dockerLayerTar = 'application/vnd.docker.image.rootfs.diff.tar';
const dockerForeignGzip = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const ociNondistributableGzip = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

const layerTypes: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.layerTarGzip,
  [dockerLayerTar]: MediaType.layerTar,
  [dockerForeignGzip]: ociNondistributableGzip,
};

/**
 * A Docker v2 schema 2 manifest rewritten with OCI media types. Blobs stay the same (a Docker
 * image config is a valid OCI config); only the manifest changes, and with it its digest.
 * The cache holds OCI manifests because skopeo and umoci ignore Docker ones in a layout.
 */
export function dockerToOciManifest(manifest: ImageManifest): ImageManifest {
  const layer = (d: Descriptor): Descriptor => {
    const mediaType = layerTypes[d.mediaType] ?? (d.mediaType.startsWith('application/vnd.oci.') ? d.mediaType : undefined);
    if (!mediaType) throw new LkError('registry', `unsupported Docker layer type ${d.mediaType}`);
    return { ...d, mediaType };
  };
  const configType = manifest.config.mediaType === dockerConfig ? MediaType.imageConfig : manifest.config.mediaType;
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { ...manifest.config, mediaType: configType },
    layers: manifest.layers.map(layer),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
}
