import type { VolumeSpec } from '../config/index.js';
import { volumeSource } from '../config/cross-check.js';
import { LkError } from '../errors.js';
import type { FsTree } from '../fs/tree.js';
import type { StoredImage } from '../oci/image-store.js';
import type { UnpackedLayers } from '../oci/unpacked-layers.js';
import { addImage } from './image-tree.js';
import type { StageClock } from '../util/stage-clock.js';

/** Where volumes live on the node, as in LinuxKit. */
export const volumesRoot = 'containers/volumes';

/** The directory of one volume on the node, without the leading '/'. */
export function volumeDir(name: string): string {
  return `${volumesRoot}/${name}`;
}

/**
 * Lays out every volume: the filesystem of its image in /containers/volumes/<name>/, or an
 * empty directory when it has no image. Containers share it through binds of its name.
 */
export async function addVolumes(
  tree: FsTree,
  volumes: VolumeSpec[],
  image: (ref: string) => StoredImage,
  layers: UnpackedLayers,
  clock?: StageClock,
): Promise<void> {
  for (const vol of volumes) {
    if (vol.format === 'oci') {
      throw new LkError(
        'config',
        `volume ${vol.name}: format "oci" (the image as an OCI layout) is not supported yet`,
        "leave format out, or set format: filesystem, to get the image's filesystem",
      );
    }
    const dir = volumeDir(vol.name);
    tree.mkdirp(dir);
    if (vol.image) await addImage(tree, layers, image(vol.image), dir, clock);
  }
}

interface ConfigMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/**
 * The OCI config with every bind of a volume name (from the YAML or the image's label) turned
 * into a bind of the volume's directory. A read-only volume is bound read-only whatever the bind
 * asked for; the build file's own binds were already checked, so a label is what gets here.
 */
export function bindVolumes<T extends object>(config: T, volumes: Map<string, VolumeSpec>, container: string): T {
  const mounts = (config as { mounts?: ConfigMount[] }).mounts;
  if (!mounts) return config;
  const mapped = mounts.map((m) => {
    if (m.type !== 'bind' || m.source === undefined || !volumeSource(m.source)) return m;
    const vol = volumes.get(m.source);
    if (!vol) {
      const known = [...volumes.keys()];
      throw new LkError(
        'config',
        `container ${container}: the bind of "${m.source}" on ${m.destination} names no volume`,
        known.length ? `defined volumes: ${known.join(', ')}` : 'define the volume under volumes:, or bind an absolute path',
      );
    }
    const options = vol.readonly ? [...(m.options ?? []).filter((o) => o !== 'rw' && o !== 'ro'), 'ro'] : m.options;
    return { ...m, source: `/${volumeDir(vol.name)}`, ...(options ? { options } : {}) };
  });
  return { ...config, mounts: mapped };
}
