import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarFromDir } from '../../src/archive/tar-from-dir.js';
import type { BuildSpec } from '../../src/config/index.js';
import { Spool } from '../../src/fs/spool.js';
import type { FsTree } from '../../src/fs/tree.js';
import { commitImage, writeLayer, type StoredImage } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';
import { UnpackedLayers } from '../../src/oci/unpacked-layers.js';

/** A scratch OCI layout (with its unpacked layers) and spool to assemble nodes from images made of a few files. */
export class AssembleFixture {
  readonly images = new Map<string, StoredImage>();
  private constructor(
    readonly dir: string,
    readonly layout: OciLayout,
    readonly spool: Spool,
    readonly layers = new UnpackedLayers(layout, spool),
  ) {}

  static async create(prefix: string): Promise<AssembleFixture> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    const layout = new OciLayout(join(dir, 'cache'));
    await layout.init();
    return new AssembleFixture(dir, layout, await Spool.create());
  }

  /** Stores an image `ref` with these files and, when given, an org.mobyproject.config label. */
  async image(ref: string, files: Record<string, string>, label?: object): Promise<void> {
    const src = await mkdtemp(join(this.dir, 'src-'));
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(src, path, '..'), { recursive: true });
      await writeFile(join(src, path), body);
    }
    const layer = await writeLayer(this.layout, tarFromDir(src, 0));
    const config = { Cmd: ['/bin/sh'], ...(label ? { Labels: { 'org.mobyproject.config': JSON.stringify(label) } } : {}) };
    this.images.set(
      ref,
      await commitImage(this.layout, ref, [layer], { architecture: 'amd64', os: 'linux', created: new Date(0).toISOString(), config }),
    );
  }

  async dispose(): Promise<void> {
    await this.layers.dispose();
    await this.spool.dispose();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const emptySpec = (over: Partial<BuildSpec>): BuildSpec => ({
  init: [],
  onboot: [],
  onshutdown: [],
  services: [],
  files: [],
  volumes: [],
  ...over,
});

/** The text of a file in the assembled tree. */
export async function fileText(tree: FsTree, path: string): Promise<string> {
  const entry = tree.get(path);
  if (entry?.type !== 'file' || !entry.content) throw new Error(`${path} is not a file in the tree`);
  const chunks: Buffer[] = [];
  for await (const c of entry.content.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
