// Small OCI images in a throwaway cache, for assembler tests.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarFromDir } from '../../src/archive/tar-from-dir.js';
import type { BuildSpec } from '../../src/config/index.js';
import { Spool } from '../../src/fs/spool.js';
import { commitImage, writeLayer, type StoredImage } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';

export class TestImages {
  readonly images = new Map<string, StoredImage>();
  private constructor(
    readonly dir: string,
    readonly layout: OciLayout,
    readonly spool: Spool,
  ) {}

  static async create(name: string): Promise<TestImages> {
    const dir = await mkdtemp(join(tmpdir(), `lk-${name}-`));
    const layout = new OciLayout(join(dir, 'cache'));
    await layout.init();
    return new TestImages(dir, layout, await Spool.create());
  }

  /** An image of one layer holding `files` (path -> contents), with an optional label. */
  async add(ref: string, files: Record<string, string>, label?: object): Promise<void> {
    const src = await mkdtemp(join(this.dir, 'src-'));
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(src, path, '..'), { recursive: true });
      await writeFile(join(src, path), body);
    }
    const layer = await writeLayer(this.layout, tarFromDir(src, 0));
    const config = { Cmd: ['/bin/sh'], ...(label ? { Labels: { 'org.mobyproject.config': JSON.stringify(label) } } : {}) };
    this.images.set(ref, await commitImage(this.layout, ref, [layer], { architecture: 'amd64', os: 'linux', created: new Date(0).toISOString(), config }));
  }

  async dispose(): Promise<void> {
    await this.spool.dispose();
  }
}

export const emptySpec = (over: Partial<BuildSpec>): BuildSpec => ({ init: [], onboot: [], onshutdown: [], services: [], files: [], volumes: [], ...over });
